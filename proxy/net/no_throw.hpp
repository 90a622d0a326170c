// kNoThrow: the completion token that makes an awaited operation return its error as a value, as the data
// path needs.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace canaryd::proxy {

/// Completion token for coroutines: `auto [ec, n] = co_await op(kNoThrow)`. Errors on the data path are
/// values, never exceptions (DESIGN.md).
inline constexpr auto kNoThrow = boost::asio::as_tuple(boost::asio::use_awaitable);

}  // namespace canaryd::proxy
