// The worker thread of worker.hpp: accepting, refusing over the connection limit, draining, sweeping.
#include "proxy/dataplane/worker.hpp"

#include <limits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "proxy/net/accepted_socket.hpp"
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
// After this many parked sessions, free memory is handed back this much later (once for a wave).
constexpr auto kReleaseAfterParking = std::chrono::milliseconds(500);
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
  set_listener_options(*acceptor);
  auto bound = acceptor->local_endpoint();
  acceptors_.push_back({std::move(acceptor), listener});
  return bound;
}

void Worker::adopt(int fd, std::size_t listener) {
  auto acceptor = std::make_unique<tcp::acceptor>(io_);
  acceptor->assign(socket_local_endpoint(fd).protocol(), fd);
  acceptor->non_blocking(true);
  set_listener_options(*acceptor);
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
  asio::post(io_, [this, snapshot = std::move(snapshot)]() mutable { adopt_snapshot(std::move(snapshot)); });
}

void Worker::adopt_snapshot(std::shared_ptr<const RoutingSnapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  pool_.set_max_idle(snapshot_->max_idle_upstream);
  // Idle connections to endpoints that left (a deleted pod) are closed now, not at the next sweep;
  // requests still in flight to them finish on their own connections.
  pool_.close_removed(snapshot_->live_ids);
  if (park_timer_armed_) arm_park_timer();  // keepalive_idle may have changed
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
  release_timer_.cancel();
  read_deadlines_.stop_when_idle();
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
  // A parked connection wakes into a session, which closes it unless a request has come (that one is
  // served, with Connection: close).
  idle_closed_ = true;
  park_timer_.cancel();
  park_timer_armed_ = false;
  while (!parked_.empty()) {
    ParkedConnection& p = parked_.front();
    p.unlink();
    p.wake = ParkedConnection::Wake::Drain;
    boost::system::error_code ec;
    p.socket.cancel(ec);
  }
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
        bool wait = true;
        for (;;) {
          if (wait) {
            auto [wec] = co_await acceptor.async_wait(tcp::acceptor::wait_read, kNoThrow);
            if (wec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
          }
          // A burst of new connections is taken in one go (HAProxy's tune.maxaccept), not one per
          // trip through the event loop behind every busy connection.
          const auto ec = accept_queued(acceptor, listener, kAcceptBatch);
          if (!acceptor.is_open()) co_return;
          // Only once the queue is empty does waiting for readiness find the next connection.
          wait = ec == asio::error::would_block || ec == asio::error::try_again;
          if (wait) continue;
          if (!ec) {
            // More may be queued: the connections already open go first.
            co_await asio::post(io_, asio::use_awaitable);
            continue;
          }
          if (is_descriptor_shortage(ec)) accept_shortage.note(ec);
          // Out of descriptors or memory: back off instead of spinning on the same error.
          backoff.expires_after(kAcceptBackoff);
          co_await backoff.async_wait(kNoThrow);
        }
      },
      asio::detached);
}

boost::system::error_code Worker::accept_queued(tcp::acceptor& acceptor, std::size_t listener, std::size_t most) {
  boost::system::error_code ec;
  for (std::size_t n = 0; n < most; ++n) {
    tcp::socket socket(io_);
    tcp::endpoint peer;  // from accept itself: no getpeername per connection
    accept_own(acceptor, socket, peer, ec);  // would_block ends the loop
    if (ec) return ec;
    start_session(std::move(socket), peer, listener);
  }
  return ec;
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
  connections_peak_ = std::max(connections_peak_, metrics_.client_connections());
  spawn(std::move(session));
}

void Worker::spawn(std::unique_ptr<ClientSession> session) {
  sessions_.push_back(*session);
  running_peak_ = std::max(running_peak_, ++running_sessions_);
  asio::co_spawn(
      io_,
      [this, s = std::move(session)]() mutable -> asio::awaitable<void> {
        // Errors on the data path are values; this only keeps an unexpected exception (say,
        // bad_alloc) to the one connection it happened on.
        try {
          co_await s->run();
        } catch (const std::exception&) {
        }
        --running_sessions_;
        // Still on the thread's turn that found nothing to read (no epoll_wait in between): see
        // read_head.
        if (s->parked()) park(std::move(s));
      },
      asio::detached);
}

void Worker::park(std::unique_ptr<ClientSession> session) {
  auto parked = session->take_parked();
  session.reset();
  // The memory sessions leave when they park goes back to the system soon, not at the next sweep:
  // parking is for the time connections stay idle, and that is when their memory should go.
  if (++parked_since_release_ >= kTrimAfter && !release_armed_) {
    release_armed_ = true;
    release_timer_.expires_after(kReleaseAfterParking);
    release_timer_.async_wait([this](boost::system::error_code ec) {
      release_armed_ = false;
      if (ec) return;
      parked_since_release_ = 0;
      scratch_.trim();  // what the wave's requests left unused since the last trim
      release_free_memory();
    });
  }
  parked_.push_back(*parked);
  if (!park_timer_armed_) arm_park_timer();
  ParkedConnection& p = *parked;
  p.socket.async_wait(tcp::socket::wait_read,
                      [this, owned = std::move(parked)](boost::system::error_code) mutable { wake(std::move(owned)); });
  if (idle_closed_) {
    p.wake = ParkedConnection::Wake::Drain;
    boost::system::error_code ec;
    p.socket.cancel(ec);
  }
}

void Worker::wake(std::unique_ptr<ParkedConnection> parked) {
  auto session = std::make_unique<ClientSession>(context_, *parked);
  parked.reset();
  spawn(std::move(session));
}

void Worker::arm_park_timer() {
  if (parked_.empty()) {
    park_timer_armed_ = false;
    return;
  }
  park_timer_armed_ = true;
  // Re-setting the expiry cancels a wait still pending (its handler sees an error and does nothing).
  park_timer_.expires_at(parked_.front().parked_at + snapshot_->timeouts.keepalive_idle);
  park_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    expire_parked();
  });
}

void Worker::expire_parked() {
  const auto now = std::chrono::steady_clock::now();
  const auto idle = snapshot_->timeouts.keepalive_idle;
  while (!parked_.empty() && parked_.front().parked_at + idle <= now) {
    ParkedConnection& p = parked_.front();
    p.unlink();  // its wait's handler still owns it
    p.wake = ParkedConnection::Wake::IdleTimeout;
    boost::system::error_code ec;
    p.socket.cancel(ec);
  }
  arm_park_timer();
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
    const std::size_t closed = pool_.sweep(snapshot_->live_ids, std::chrono::steady_clock::now());
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
  // Sessions that parked free as much as connections that closed.
  const std::int64_t closed = connections_peak_ - now_open + static_cast<std::int64_t>(upstream_closed) +
                              running_peak_ - running_sessions_;
  connections_peak_ = now_open;
  running_peak_ = running_sessions_;
  // free() keeps what a burst's sessions and buffers used in the malloc arenas, where nothing but
  // another burst would reuse it; this hands the free pages back to the system. It walks every arena,
  // so only after a burst, and here in the sweep, never on a request's way.
  if (freed_blocks + closed >= kTrimAfter) release_free_memory();
}

}  // namespace canaryd::proxy
