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

asio::awaitable<HeadRead> read_head_block(FlexStream& in, boost::beast::flat_buffer& buffer, std::size_t limit,
                                          std::chrono::milliseconds timeout, ReadDeadlines* deadlines) {
  const bool listed = deadlines && !in.is_tls();
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
    boost::system::error_code ec;
    std::size_t n = 0;
    if (listed) {
      ReadDeadlines::Watch watch(*deadlines, in.socket(), timeout);
      std::tie(ec, n) = co_await in.async_read_some_untimed(buffer.prepare(room), kNoThrow);
      // A read that completed as its deadline passed keeps what it read.
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
