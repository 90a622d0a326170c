// splice() between two plain sockets (see splice_relay.hpp).
#include "proxy/dataplane/splice_relay.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <boost/asio/buffer.hpp>

#include "proxy/net/eager_write.hpp"
#include "proxy/net/no_throw.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr unsigned kFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;

bool again(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

error_code last_error() { return error_code(errno, boost::system::system_category()); }

}  // namespace

asio::awaitable<RelayResult> splice_length(std::uint64_t length, FlexStream& in, FlexStream& out, Pipe& pipe,
                                           RequestScratch& scratch, std::chrono::milliseconds timeout) {
  const int from = in.socket().native_handle();
  const int to = out.socket().native_handle();
  std::uint64_t unread = length;
  while (unread > 0 || pipe.held > 0) {
    bool moved = false;
    if (unread > 0 && pipe.held < pipe.capacity) {
      // EAGAIN here is either nothing to read or a pipe whose slots are full (a slot per socket buffer
      // fragment, however small): the second is only possible when the pipe holds something.
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(unread, pipe.capacity - pipe.held));
      const ssize_t n = ::splice(from, nullptr, pipe.write_end, nullptr, want, kFlags);
      if (n == 0) co_return RelayResult{RelayResult::Side::Read, asio::error::eof};
      if (n < 0 && !again(errno)) co_return RelayResult{RelayResult::Side::Read, last_error()};
      if (n > 0) {
        pipe.held += static_cast<std::size_t>(n);
        unread -= static_cast<std::uint64_t>(n);
        moved = true;
      }
    }
    if (pipe.held > 0) {
      const ssize_t n = ::splice(pipe.read_end, nullptr, to, nullptr, pipe.held, kFlags);
      if (n < 0 && !again(errno)) co_return RelayResult{RelayResult::Side::Write, last_error()};
      if (n > 0) {
        pipe.held -= static_cast<std::size_t>(n);
        moved = true;
      }
    }
    if (moved) continue;
    if (pipe.held > 0) {
      // The receiver takes nothing now: the pipe's bytes wait in this request's memory, written with a
      // deadline, as the copying relay's do.
      scratch.spill.resize(pipe.held);
      std::size_t drained = 0;
      while (drained < pipe.held) {
        const ssize_t n = ::read(pipe.read_end, scratch.spill.data() + drained, pipe.held - drained);
        if (n <= 0) co_return RelayResult{RelayResult::Side::Write, n < 0 ? last_error() : asio::error::eof};
        drained += static_cast<std::size_t>(n);
      }
      pipe.held = 0;
      if (auto wec = co_await write_all(out, asio::buffer(scratch.spill), timeout); wec)
        co_return RelayResult{RelayResult::Side::Write, wec};
      continue;
    }
    // Nothing has arrived: wait for it with a read that has a deadline, as the copying relay does.
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(unread, scratch.relay.size()));
    in.tcp().expires_after(timeout);
    auto [rec, got] = co_await in.async_read_some(asio::buffer(scratch.relay.data(), want), kNoThrow);
    if (rec) co_return RelayResult{RelayResult::Side::Read, rec};
    unread -= got;
    if (auto wec = co_await write_all(out, asio::buffer(scratch.relay.data(), got), timeout); wec)
      co_return RelayResult{RelayResult::Side::Write, wec};
  }
  co_return RelayResult{};
}

}  // namespace canaryd::proxy
