#pragma once

#include <chrono>
#include <span>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include "proxy/flex_stream.hpp"
#include "proxy/no_throw.hpp"

namespace canaryd::proxy {

/// How a relay ended: complete, or which side failed (and with what).
struct RelayResult {
  enum class Side { None, Read, Write } failed = Side::None;
  boost::system::error_code error;
  explicit operator bool() const { return failed == Side::None; }
};

/// Streams one message whose header `parser` has read from `in` to `out`, through `buffer`: each read
/// of the body is written at once, so memory stays at one buffer whatever the body size. The
/// serializer re-frames the body (chunked is decoded and encoded again; never raw chunk bytes), and
/// writes the message's header first. Every read and write gets `timeout` as its deadline. Beast's
/// relay pattern (example/doc/http_examples.hpp), made asynchronous.
template <bool IsRequest>
boost::asio::awaitable<RelayResult> relay_message(boost::beast::http::parser<IsRequest, boost::beast::http::buffer_body>& parser,
                                                  FlexStream& in, boost::beast::flat_buffer& in_buffer,
                                                  FlexStream& out, std::span<char> buffer,
                                                  std::chrono::milliseconds timeout) {
  namespace http = boost::beast::http;
  auto& message = parser.get();
  http::serializer<IsRequest, http::buffer_body> serializer{message};
  do {
    auto& body = message.body();
    if (parser.is_done()) {
      body.data = nullptr;
      body.size = 0;
      body.more = false;
    } else {
      body.data = buffer.data();
      body.size = buffer.size();
      in.tcp().expires_after(timeout);
      auto [ec, n] = co_await http::async_read_some(in, in_buffer, parser, kNoThrow);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) co_return RelayResult{RelayResult::Side::Read, ec};
      const std::size_t produced = buffer.size() - body.size;
      // A read may parse only framing (a chunk header, say). An empty buffer with `more` set would be
      // serialized as the last chunk, so nothing is written until there is data or the end.
      if (produced == 0 && !parser.is_done()) continue;
      body.data = produced == 0 ? nullptr : buffer.data();
      body.size = produced;
      body.more = !parser.is_done();
    }
    out.tcp().expires_after(timeout);
    auto [ec, n] = co_await http::async_write(out, serializer, kNoThrow);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return RelayResult{RelayResult::Side::Write, ec};
  } while (!parser.is_done() && !serializer.is_done());
  co_return RelayResult{};
}

}  // namespace canaryd::proxy
