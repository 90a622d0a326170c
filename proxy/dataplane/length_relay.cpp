// The Content-Length body relay (see length_relay.hpp): head and buffered bytes in one write, then the rest
// as it arrives.
#include "proxy/dataplane/length_relay.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <array>

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>

#include "proxy/dataplane/splice_relay.hpp"
#include "proxy/net/eager_write.hpp"
#include "proxy/net/no_throw.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr std::size_t kCopiedBody = 4096;
}

asio::awaitable<RelayResult> relay_length(std::string& head, std::uint64_t length, FlexStream& in,
                                          boost::beast::flat_buffer& in_buffer, FlexStream& out,
                                          RequestScratch& scratch, SharedRelay shared,
                                          std::chrono::milliseconds timeout) {
  const auto buffered = static_cast<std::size_t>(std::min<std::uint64_t>(in_buffer.size(), length));
  const char* body = static_cast<const char*>(in_buffer.data().data());
  error_code ec;
  if (buffered <= kCopiedBody) {
    // One buffer: send() rather than sendmsg(), which costs the kernel more than copying this much.
    head.append(body, buffered);
    ec = co_await write_all(out, asio::buffer(head), timeout);
  } else {
    const std::array<asio::const_buffer, 2> first{asio::buffer(head), asio::const_buffer(body, buffered)};
    ec = co_await write_all(out, first, timeout);
  }
  if (ec) co_return RelayResult{RelayResult::Side::Write, ec};
  in_buffer.consume(buffered);
  std::uint64_t left = length - buffered;
  const bool plain = !in.is_tls() && !out.is_tls();
  if (plain && left >= kSpliceFrom) {
    if (auto pipe = shared.pipes.take()) {
      const RelayResult spliced = co_await splice_length(left, in, out, *pipe, scratch, timeout);
      if (!spliced) co_return spliced;
      co_return RelayResult{RelayResult::Side::None, {}, length};
    }
  }
  while (left > 0) {
    if (plain) {
      // What has already arrived goes through the worker's shared buffer in one recv() and one send(),
      // without waiting: one large buffer that stays in cache, where each request's own buffer would
      // be one of many and cold, and fewer calls than a 16 KiB buffer needs.
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, shared.buffer.size()));
      const ssize_t got = ::recv(in.socket().native_handle(), shared.buffer.data(), want, MSG_DONTWAIT);
      if (got == 0) co_return RelayResult{RelayResult::Side::Read, asio::error::eof};
      if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        co_return RelayResult{RelayResult::Side::Read, error_code(errno, boost::system::system_category())};
      if (got > 0) {
        const auto n = static_cast<std::size_t>(got);
        left -= n;
        const ssize_t sent =
            ::send(out.socket().native_handle(), shared.buffer.data(), n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
          co_return RelayResult{RelayResult::Side::Write, error_code(errno, boost::system::system_category())};
        const std::size_t done = sent > 0 ? static_cast<std::size_t>(sent) : 0;
        if (done == n) continue;
        // The receiver is slower: the rest waits in this request's own memory, not the shared buffer.
        scratch.spill.assign(shared.buffer.data() + done, n - done);
        if (auto wec = co_await write_all(out, asio::buffer(scratch.spill), timeout); wec)
          co_return RelayResult{RelayResult::Side::Write, wec};
        continue;
      }
      // Nothing there yet: wait for it below.
    }
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, scratch.relay.size()));
    in.tcp().expires_after(timeout);
    auto [rec, got] = co_await in.async_read_some(asio::buffer(scratch.relay.data(), want), kNoThrow);
    if (rec) co_return RelayResult{RelayResult::Side::Read, rec};
    left -= got;
    if (auto wec = co_await write_all(out, asio::buffer(scratch.relay.data(), got), timeout); wec)
      co_return RelayResult{RelayResult::Side::Write, wec};
  }
  co_return RelayResult{RelayResult::Side::None, {}, length};
}

}  // namespace canaryd::proxy
