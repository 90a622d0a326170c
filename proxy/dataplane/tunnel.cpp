// The two-way relay of tunnel.hpp: one pump per direction and a watch for silence, run together.
#include "proxy/dataplane/tunnel.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "proxy/net/no_throw.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
using boost::system::error_code;
using std::chrono::steady_clock;

namespace {

// How long a TLS side may take to answer our close_notify before its connection is closed anyway.
constexpr auto kCloseNotifyWait = std::chrono::seconds(2);

// The peer ended its side: a FIN, or over TLS its close_notify (or a FIN without one, which a tunnel
// cannot tell from an orderly end either: the bytes it carried are the application's to check).
bool is_end(const error_code& ec) { return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated; }

class Tunnel {
 public:
  Tunnel(const TunnelEnds& ends, std::chrono::milliseconds idle)
      : ends_(ends), idle_(idle), timer_(ends.client.get_executor()) {}

  asio::awaitable<TunnelResult> run();

 private:
  /// Relays `from` to `to` through `buffer`, `pending` first, until `from` ends or the tunnel stops.
  asio::awaitable<void> pump(FlexStream& from, FlexStream& to, std::span<char> buffer, asio::const_buffer pending,
                             std::uint64_t& count);
  /// Closes the tunnel once neither direction moved a byte for idle_.
  asio::awaitable<void> watch_idle();
  /// Writes all of `data`: on a plain connection what the socket takes at once, then the rest
  /// asynchronously. No deadline of its own: a peer that stops reading stops the tunnel moving, which
  /// the idle watch sees.
  static asio::awaitable<error_code> write(FlexStream& to, asio::const_buffer data);
  /// `from`'s side ended: a plain `to` is half-closed, a TLS one ends the tunnel.
  void pass_end_to(FlexStream& to);
  void fail();
  /// Ends both directions: their pending reads and writes are cancelled.
  void stop();
  void pump_done();
  static asio::awaitable<void> close_notify(FlexStream& side);

  TunnelEnds ends_;
  const std::chrono::milliseconds idle_;
  asio::steady_timer timer_;
  steady_clock::time_point last_moved_ = steady_clock::now();
  int pumps_running_ = 2;
  bool stopping_ = false;
  TunnelResult result_;
};

asio::awaitable<TunnelResult> Tunnel::run() {
  // No per-operation deadlines from here on (a timer per read would cost what the idle watch saves).
  ends_.client.tcp().expires_never();
  ends_.upstream.tcp().expires_never();
  ends_.upstream_buffer.clear();
  const auto upstream_storage = ends_.upstream_buffer.prepare(ends_.client_relay.size());
  const std::span<char> to_client(static_cast<char*>(upstream_storage.data()), upstream_storage.size());
  const asio::const_buffer pending = ends_.client_pending.data();
  timer_.expires_at(last_moved_ + idle_);
  using namespace asio::experimental::awaitable_operators;
  co_await (pump(ends_.client, ends_.upstream, ends_.client_relay, pending, result_.to_upstream) &&
            pump(ends_.upstream, ends_.client, to_client, {}, result_.to_client) && watch_idle());
  ends_.client_pending.consume(ends_.client_pending.size());
  if (!result_.failed) {
    if (ends_.client.is_tls()) co_await close_notify(ends_.client);
    if (ends_.upstream.is_tls()) co_await close_notify(ends_.upstream);
  }
  co_return result_;
}

asio::awaitable<void> Tunnel::pump(FlexStream& from, FlexStream& to, std::span<char> buffer,
                                   asio::const_buffer pending, std::uint64_t& count) {
  if (pending.size() > 0) {
    if (co_await write(to, pending))
      fail();
    else
      count += pending.size();
  }
  while (!stopping_) {
    auto [rec, n] = co_await from.async_read_some_untimed(asio::buffer(buffer.data(), buffer.size()), kNoThrow);
    if (stopping_) break;
    if (rec) {
      if (is_end(rec))
        pass_end_to(to);
      else
        fail();
      break;
    }
    last_moved_ = steady_clock::now();
    count += n;
    if (auto wec = co_await write(to, asio::buffer(buffer.data(), n)); wec) {
      if (!stopping_) fail();
      break;
    }
    last_moved_ = steady_clock::now();
  }
  pump_done();
}

asio::awaitable<void> Tunnel::watch_idle() {
  for (;;) {
    auto [ec] = co_await timer_.async_wait(kNoThrow);
    // Cancelled, or fired just as the tunnel ended.
    if (ec || stopping_ || pumps_running_ == 0) co_return;
    const auto due = last_moved_ + idle_;
    if (steady_clock::now() >= due) {
      result_.idle = true;
      stop();
      co_return;
    }
    timer_.expires_at(due);
  }
}

asio::awaitable<error_code> Tunnel::write(FlexStream& to, asio::const_buffer data) {
  if (to.is_tls()) {
    auto [ec, n] = co_await asio::async_write(to.tls(), data, kNoThrow);
    co_return ec;
  }
  error_code ec;
  const std::size_t done = to.socket().write_some(data, ec);  // non-blocking (the sockets are)
  if (ec == asio::error::would_block || ec == asio::error::try_again)
    ec = {};
  else if (ec || done == data.size())
    co_return ec;
  auto [wec, n] = co_await asio::async_write(to.socket(), data + done, kNoThrow);
  co_return wec;
}

void Tunnel::pass_end_to(FlexStream& to) {
  if (to.is_tls()) {
    stop();
    return;
  }
  error_code ignored;
  to.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

void Tunnel::fail() {
  result_.failed = true;
  stop();
}

void Tunnel::stop() {
  if (stopping_) return;
  stopping_ = true;
  ends_.client.tcp().cancel();
  ends_.upstream.tcp().cancel();
  timer_.cancel();
}

void Tunnel::pump_done() {
  if (--pumps_running_ == 0) timer_.cancel();
}

asio::awaitable<void> Tunnel::close_notify(FlexStream& side) {
  side.tcp().expires_after(kCloseNotifyWait);
  co_await side.tls().async_shutdown(kNoThrow);
  side.tcp().expires_never();
}

}  // namespace

asio::awaitable<TunnelResult> run_tunnel(TunnelEnds ends, std::chrono::milliseconds idle) {
  Tunnel tunnel(ends, idle);
  co_return co_await tunnel.run();
}

}  // namespace canaryd::proxy
