// Reads a header block into a connection's buffer (see head_reader.hpp).
#include "proxy/dataplane/head_reader.hpp"

#include <algorithm>
#include <tuple>
#include <string_view>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include "proxy/net/no_throw.hpp"
#include "proxy/http/request_validator.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {
constexpr std::size_t kReadSize = 16 * 1024;
}

asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_some_within(
    FlexStream& in, asio::mutable_buffer into, std::chrono::milliseconds timeout, ReadDeadlines* deadlines) {
  if (deadlines && !in.is_tls()) {
    ReadDeadlines::Watch watch(*deadlines, in.socket(), timeout);
    auto [ec, n] = co_await in.async_read_some_untimed(into, kNoThrow);
    // A read that completed as its deadline passed keeps what it read.
    if (ec && watch.expired()) ec = boost::beast::error::timeout;
    co_return std::pair{ec, n};
  }
  in.tcp().expires_after(timeout);
  auto [ec, n] = co_await in.async_read_some(into, kNoThrow);
  co_return std::pair{ec, n};
}

asio::awaitable<HeadRead> read_head_block(FlexStream& in, boost::beast::flat_buffer& buffer, std::size_t limit,
                                          std::chrono::milliseconds timeout, ReadDeadlines* deadlines) {
  std::size_t scanned = 0;
  for (;;) {
    const std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
    const std::size_t end = find_head_end(data, scanned);
    if (end != std::string_view::npos) {
      if (end > limit) co_return HeadRead{http::error::header_limit};
      co_return HeadRead{{}, end};
    }
    if (data.size() > limit) co_return HeadRead{http::error::header_limit};
    scanned = data.size();
    const std::size_t room = std::min(kReadSize, buffer.max_size() - buffer.size());
    if (room == 0) co_return HeadRead{http::error::header_limit};
    // read_some_within's steps, written out: a nested coroutine per read costs the request path about
    // 1,000 instructions (callgrind, bench/callgrind.py: 21,525 against 20,534 per request).
    boost::system::error_code ec;
    std::size_t n = 0;
    if (deadlines && !in.is_tls()) {
      ReadDeadlines::Watch watch(*deadlines, in.socket(), timeout);
      std::tie(ec, n) = co_await in.async_read_some_untimed(buffer.prepare(room), kNoThrow);
      if (ec && watch.expired()) ec = boost::beast::error::timeout;
    } else {
      in.tcp().expires_after(timeout);
      std::tie(ec, n) = co_await in.async_read_some(buffer.prepare(room), kNoThrow);
    }
    if (ec == asio::error::eof)
      co_return HeadRead{buffer.size() == 0 ? http::error::end_of_stream : http::error::partial_message};
    if (ec) co_return HeadRead{ec};
    buffer.commit(n);
  }
}

}  // namespace canaryd::proxy
