// The worker thread of worker.hpp: accepting, refusing over the connection limit, draining, sweeping.
#include "proxy/dataplane/worker.hpp"

#include <limits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "proxy/net/descriptor_shortage.hpp"
#include "proxy/http/local_reply.hpp"
#include "proxy/net/free_memory.hpp"
#include "proxy/net/inherited_sockets.hpp"
#include "proxy/net/no_throw.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr auto kSweepInterval = std::chrono::seconds(5);
// Half the contract's one second: the writer thread writes a buffer as soon as it is handed over.
constexpr auto kAccessLogHandOver = std::chrono::milliseconds(500);
constexpr auto kAcceptBackoff = std::chrono::milliseconds(50);
constexpr std::size_t kAcceptBatch = 63;
// Memory is handed back to the system after a burst once this many connections (or request buffers)
// have been freed; below that it is not worth walking the arenas.
constexpr std::int64_t kTrimAfter = 64;

constinit ShortageReport accept_shortage("accepting a client connection (it waits in the listen queue)");
constexpr auto kHandoverIdleGrace = std::chrono::seconds(1);
}  // namespace

Worker::Worker(std::shared_ptr<const RoutingSnapshot> initial, std::atomic<std::int64_t>& open_connections,
               AccessLogBuffers& access_log, std::function<void(const std::string&)> on_failure_streak)
    : snapshot_(std::move(initial)),
      open_connections_(open_connections),
      failure_streaks_(std::move(on_failure_streak)),
      access_log_(access_log) {}

Worker::~Worker() {
  if (thread_.joinable()) {
    stop();
    thread_.join();
  }
}

tcp::endpoint Worker::listen(const tcp::endpoint& address, std::size_t listener) {
  auto acceptor = std::make_unique<tcp::acceptor>(io_);
  acceptor->open(address.protocol());
  acceptor->set_option(asio::socket_base::reuse_address(true));
  // Every worker binds the same address and the kernel spreads new connections over them. Another
  // process could join too: Server checks first that nobody else listens there (port_probe), and a
  // successor is handed these very sockets instead (hot_upgrade).
  int one = 1;
  if (::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    throw boost::system::system_error(errno, boost::system::system_category(), "setsockopt(SO_REUSEPORT)");
  if (address.protocol() == tcp::v6()) acceptor->set_option(asio::ip::v6_only(true));
  acceptor->bind(address);
  acceptor->listen(asio::socket_base::max_listen_connections);
  acceptor->non_blocking(true);  // accept_queued() takes what is queued without waiting
  auto bound = acceptor->local_endpoint();
  acceptors_.push_back({std::move(acceptor), listener});
  return bound;
}

void Worker::adopt(int fd, std::size_t listener) {
  auto acceptor = std::make_unique<tcp::acceptor>(io_);
  acceptor->assign(socket_local_endpoint(fd).protocol(), fd);
  acceptor->non_blocking(true);
  acceptors_.push_back({std::move(acceptor), listener});
}

std::vector<std::pair<int, std::size_t>> Worker::listening_sockets() const {
  std::vector<std::pair<int, std::size_t>> out;
  for (const auto& l : acceptors_) out.emplace_back(l.acceptor->native_handle(), l.index);
  return out;
}

void Worker::start(std::function<void()> on_exit) {
  for (auto& l : acceptors_) accept_loop(*l.acceptor, l.index);
  schedule_sweep();
  schedule_access_log_hand_over();
  thread_ = std::thread([this, on_exit = std::move(on_exit)] {
    io_.run();
    access_log_.hand_over();  // the last lines, before the writer's last pass
    if (on_exit) on_exit();
  });
}

void Worker::publish(std::shared_ptr<const RoutingSnapshot> snapshot) {
  asio::post(io_, [this, snapshot = std::move(snapshot)]() mutable {
    snapshot_ = std::move(snapshot);
    pool_.set_max_idle(snapshot_->max_idle_upstream);
    // Idle connections to endpoints that left (a deleted pod) are closed now, not at the next sweep;
    // requests still in flight to them finish on their own connections.
    pool_.close_removed(live_endpoint_ids());
  });
}

std::vector<bool> Worker::live_endpoint_ids() const {
  std::vector<bool> live(snapshot_->max_endpoint_id + 1, false);
  for (const auto& set : snapshot_->sets)
    for (const auto& ep : set) live[ep.id] = true;
  return live;
}

void Worker::drain(bool handover) {
  asio::post(io_, [this, handover] { on_drain(handover); });
}

void Worker::on_drain(bool handover) {
  if (draining_) return;
  draining_ = true;
  boost::system::error_code ec;
  for (auto& l : acceptors_) {
    // Closing the last reference to a listener resets the connections in its accept queue, and their
    // clients have done nothing wrong: take them first and serve their requests (with Connection:
    // close). On a handover the successor holds the same sockets, so nothing is lost either way.
    accept_queued(*l.acceptor, l.index, std::numeric_limits<std::size_t>::max());
    l.acceptor->close(ec);
  }
  sweep_timer_.cancel();
  access_log_timer_.cancel();
  pool_.clear();
  if (!handover) {
    close_idle_sessions();
    return;
  }
  // A busy keep-alive client sends its next request within moments: it is answered with Connection:
  // close and reconnects to the successor. Closing its connection now could cross that request (a
  // client like wrk counts an error), so only a connection quiet for the whole grace time is closed.
  idle_close_timer_.expires_after(kHandoverIdleGrace);
  idle_close_timer_.async_wait([this](boost::system::error_code e) {
    if (!e) close_idle_sessions();
  });
}

void Worker::close_idle_sessions() {
  // Sessions unlink themselves when they end, so walk a copy of the pointers.
  std::vector<ClientSession*> live;
  for (auto& s : sessions_) live.push_back(&s);
  for (auto* s : live) s->close_if_idle();
}

void Worker::stop() { io_.stop(); }

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::accept_loop(tcp::acceptor& acceptor, std::size_t listener) {
  asio::co_spawn(
      io_,
      [this, &acceptor, listener]() -> asio::awaitable<void> {
        asio::steady_timer backoff(io_);
        tcp::endpoint peer;  // from accept itself: no getpeername per connection
        for (;;) {
          auto [ec, socket] = co_await acceptor.async_accept(peer, kNoThrow);
          // Under io_uring (CANARYD_IO_URING) the accept runs in the kernel, which can complete it with
          // a connection while on_drain closes the acceptor: that one is served like those on_drain
          // takes from the queue, never dropped. Under epoll a closed acceptor accepts nothing.
          if (!ec && !acceptor.is_open()) {
            start_session(std::move(socket), peer, listener);
            co_return;
          }
          if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
          if (ec) {
            if (is_descriptor_shortage(ec)) accept_shortage.note(ec);
            // Out of descriptors or memory: back off instead of spinning on the same error.
            backoff.expires_after(kAcceptBackoff);
            co_await backoff.async_wait(kNoThrow);
            continue;
          }
          start_session(std::move(socket), peer, listener);
          // A burst of new connections is taken in one go (HAProxy's tune.maxaccept), not one per
          // trip through the event loop behind every busy connection.
          accept_queued(acceptor, listener, kAcceptBatch);
        }
      },
      asio::detached);
}

void Worker::accept_queued(tcp::acceptor& acceptor, std::size_t listener, std::size_t most) {
  boost::system::error_code ec;
  for (std::size_t n = 0; n < most; ++n) {
    tcp::socket socket(io_);
    tcp::endpoint peer;
    acceptor.accept(socket, peer, ec);  // non-blocking (see listen): would_block ends the loop
    if (ec) return;
    start_session(std::move(socket), peer, listener);
  }
}

void Worker::start_session(tcp::socket socket, const tcp::endpoint& peer, std::size_t listener) {
  const std::uint64_t limit = snapshot_->max_connections;
  const std::int64_t open = open_connections_.fetch_add(1, std::memory_order_relaxed);
  if (limit != 0 && open >= static_cast<std::int64_t>(limit)) {
    open_connections_.fetch_sub(1, std::memory_order_relaxed);
    refuse(std::move(socket));
    return;
  }
  const auto& tls = snapshot_->listener_tls;
  const auto& http2 = snapshot_->listener_http2;
  auto session = std::make_unique<ClientSession>(context_, std::move(socket), peer,
                                                 listener < tls.size() ? tls[listener] : nullptr,
                                                 listener < http2.size() && http2[listener]);
  sessions_.push_back(*session);
  connections_peak_ = std::max(connections_peak_, metrics_.client_connections());
  asio::co_spawn(
      io_,
      [s = std::move(session)]() -> asio::awaitable<void> {
        // Errors on the data path are values; this only keeps an unexpected exception (say,
        // bad_alloc) to the one connection it happened on.
        try {
          co_await s->run();
        } catch (const std::exception&) {
        }
      },
      asio::detached);
}

void Worker::refuse(tcp::socket socket) {
  // Over limits.max_connections: a short 503 and close, so the client learns why instead of waiting
  // in the backlog; connections already open are not affected.
  asio::co_spawn(
      io_,
      [s = std::move(socket)]() mutable -> asio::awaitable<void> {
        boost::system::error_code ec;
        s.non_blocking(true, ec);
        // One non-blocking write: the answer fits any socket buffer, and a refused client must cost
        // us no waiting.
        s.write_some(asio::buffer(refusal_reply()), ec);
        s.shutdown(tcp::socket::shutdown_send, ec);
        s.close(ec);
        co_return;
      },
      asio::detached);
}

void Worker::schedule_sweep() {
  sweep_timer_.expires_after(kSweepInterval);
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || draining_) return;
    const std::size_t closed = pool_.sweep(live_endpoint_ids(), std::chrono::steady_clock::now());
    release_burst_memory(closed);
    schedule_sweep();
  });
}

void Worker::schedule_access_log_hand_over() {
  access_log_timer_.expires_after(kAccessLogHandOver);
  access_log_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || draining_) return;
    access_log_.hand_over();
    schedule_access_log_hand_over();
  });
}

void Worker::release_burst_memory(std::size_t upstream_closed) {
  const std::int64_t freed_blocks = static_cast<std::int64_t>(scratch_.trim());
  const std::int64_t now_open = metrics_.client_connections();
  const std::int64_t closed = connections_peak_ - now_open + static_cast<std::int64_t>(upstream_closed);
  connections_peak_ = now_open;
  // free() keeps what a burst's sessions and buffers used in the malloc arenas, where nothing but
  // another burst would reuse it; this hands the free pages back to the system. It walks every arena,
  // so only after a burst, and here in the sweep, never on a request's way.
  if (freed_blocks + closed >= kTrimAfter) release_free_memory();
}

}  // namespace canaryd::proxy
