// Relays a chunked request body from the client to an upstream: decoded by our own ChunkedDecoder and
// encoded again, after what has already arrived of it has been checked.
#pragma once

#include <chrono>
#include <span>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "proxy/dataplane/body_relay.hpp"
#include "proxy/http/chunked_decoder.hpp"
#include "proxy/net/flex_stream.hpp"

namespace canaryd::proxy {

/// Sends `head`, then the chunked body `decoder` reads from `in` (starting with what `in_buffer` holds;
/// bytes past the body stay there), encoded again through `scratch`: one chunk per buffer's worth, no
/// extensions, no trailers. Every byte that has arrived is checked before any of it is sent: a body
/// whose framing is broken (or over a limit) in what has arrived sends the next hop nothing more, and
/// nothing at all when that is in the first bytes. Invalid: `decoder` says what is wrong. Every read
/// and write gets `timeout` as its deadline.
boost::asio::awaitable<RelayResult> relay_chunked(std::string_view head, ChunkedDecoder& decoder, FlexStream& in,
                                                  boost::beast::flat_buffer& in_buffer, FlexStream& out,
                                                  std::span<char> scratch, std::chrono::milliseconds timeout);

}  // namespace canaryd::proxy
