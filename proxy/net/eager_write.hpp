// write_all: writes what the socket takes at once before falling back to an asynchronous write with a
// deadline, so that most requests and responses cost one system call.
#pragma once

#include <chrono>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>

#include "proxy/net/flex_stream.hpp"
#include "proxy/net/no_throw.hpp"

namespace canaryd::proxy {

/// Writes all of `buffers` to `out`: on a plain connection first what the socket takes at once (it is
/// in non-blocking mode), then the rest asynchronously with `timeout` as the deadline. A response or
/// request that fits the socket buffer, nearly every one, then costs one system call and no trip
/// through the event loop (no operation queued, no timer armed, no completion to wait behind every
/// other connection's): what HAProxy and nginx do, and what keeps the tail short with many clients.
template <class ConstBuffers>
boost::asio::awaitable<boost::system::error_code> write_all(FlexStream& out, const ConstBuffers& buffers,
                                                            std::chrono::milliseconds timeout) {
  namespace asio = boost::asio;
  std::size_t done = 0;
  if (!out.is_tls()) {
    boost::system::error_code ec;
    done = out.socket().write_some(buffers, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      done = 0;
    } else if (ec) {
      co_return ec;
    }
    if (done == asio::buffer_size(buffers)) co_return boost::system::error_code{};
  }
  boost::beast::buffers_suffix<ConstBuffers> rest(buffers);
  rest.consume(done);
  out.tcp().expires_after(timeout);
  auto [ec, n] = co_await asio::async_write(out, rest, kNoThrow);
  co_return ec;
}

}  // namespace canaryd::proxy
