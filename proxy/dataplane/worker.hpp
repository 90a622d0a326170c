// One worker thread of the data plane: its event loop, acceptors, pools and counters, and the client
// sessions it runs.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

#include "proxy/dataplane/client_session.hpp"
#include "proxy/dataplane/failure_streaks.hpp"
#include "proxy/dataplane/parked_connection.hpp"
#include "proxy/dataplane/read_deadlines.hpp"
#include "proxy/dataplane/request_scratch.hpp"
#include "proxy/dataplane/routing_snapshot.hpp"
#include "proxy/dataplane/session_context.hpp"
#include "proxy/dataplane/upstream_pool.hpp"
#include "proxy/dataplane/worker_metrics.hpp"
#include "proxy/net/pipe_pool.hpp"
#include "weights/rollout_evidence.hpp"
#include "weights/splitter.hpp"

namespace canaryd::proxy {

/// One worker thread: its own io_context, SO_REUSEPORT acceptors on every listen address, upstream
/// pools, splitter and counters. A client connection lives and dies here, so the request path takes
/// no lock. The main thread talks to it only by posting (publish, drain, stop).
class Worker {
 public:
  /// `open_connections` is shared by every worker: client connections of the whole process, checked
  /// against limits.max_connections when a connection is accepted (never on the request path).
  /// `on_failure_streak` runs on this worker's thread with an endpoint's name when its requests failed
  /// snapshot().ejection_threshold times in a row here (it posts to the main thread).
  /// `access_log`: this worker's ring of the access log writer (it outlives the worker).
  Worker(std::shared_ptr<const RoutingSnapshot> initial, std::atomic<std::int64_t>& open_connections,
         AccessLogBuffers& access_log, std::function<void(const std::string&)> on_failure_streak = {});
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Main thread, before start(): binds and listens on `address` with SO_REUSEPORT, for listen entry
  /// `listener` (its TLS context in the snapshot). Returns the bound endpoint (for port 0) or throws
  /// boost::system::system_error.
  boost::asio::ip::tcp::endpoint listen(const boost::asio::ip::tcp::endpoint& address, std::size_t listener);
  /// Main thread, before start(): accepts on `fd`, a socket that already listens (handed over by the
  /// previous canaryd or by systemd), for listen entry `listener`. Takes ownership of `fd`.
  void adopt(int fd, std::size_t listener);
  /// Main thread, before start(): the listening descriptors and their listen entries, to hand over.
  std::vector<std::pair<int, std::size_t>> listening_sockets() const;

  /// Main thread: runs the io_context on a new thread. `on_exit` runs on that thread when it ends.
  void start(std::function<void()> on_exit);
  /// Any thread: the snapshot the next requests will use.
  void publish(std::shared_ptr<const RoutingSnapshot> snapshot);
  /// This worker's thread (publish() posts it there), or any thread before start(): what a worker does
  /// with a new snapshot. Public so that bench/micro can time it apart from the post.
  void adopt_snapshot(std::shared_ptr<const RoutingSnapshot> snapshot);
  /// Any thread: stop accepting, close idle keep-alive clients, let in-flight requests finish with
  /// `Connection: close`. The thread ends when the last session is gone. `handover`: a successor
  /// accepts on the same sockets; a keep-alive client gets one more answer (with `Connection: close`)
  /// instead of a close that would race its next request, and only one that stays quiet is closed.
  void drain(bool handover = false);
  /// Any thread: stop at once (drain deadline passed).
  void stop();
  void join();

  /// Main thread at scrape time, worker thread otherwise.
  WorkerMetrics& metrics() { return metrics_; }
  /// Main thread: adds this worker's rollout evidence for `set` (Stable or Canary) so far to `sum`:
  /// the requests the weight placed, their errors and latencies (counters that only grow).
  void add_rollout_evidence(SetKind set, weights::SetEvidence& sum) const { metrics_.evidence(set).add_to(sum); }

 private:
  void accept_loop(boost::asio::ip::tcp::acceptor& acceptor, std::size_t listener);
  void start_session(boost::asio::ip::tcp::socket socket, const boost::asio::ip::tcp::endpoint& peer,
                     std::size_t listener);
  /// Accepts up to `most` connections already queued on `acceptor`, without waiting; returns how the
  /// last accept went (would_block: the queue is empty; success: `most` were taken).
  boost::system::error_code accept_queued(boost::asio::ip::tcp::acceptor& acceptor, std::size_t listener, std::size_t most);
  void refuse(boost::asio::ip::tcp::socket socket);
  /// Runs `session` on a coroutine of its own; parks it when it ends parked.
  void spawn(std::unique_ptr<ClientSession> session);
  /// Keeps a parked session's socket and peer (parked_connection.hpp) and waits for readability.
  void park(std::unique_ptr<ClientSession> session);
  /// The wait of a parked connection ended: a new session takes the connection over.
  void wake(std::unique_ptr<ParkedConnection> parked);
  /// One timer for every parked connection: the oldest one's idle deadline.
  void arm_park_timer();
  /// Wakes, to be closed, the parked connections whose keepalive_idle has passed.
  void expire_parked();
  void schedule_sweep();
  /// Every half second: the access log lines of the current buffer go to the writer (flushed within a second).
  void schedule_access_log_hand_over();
  /// Sweep: frees the request buffers a burst left, and returns free memory to the system after one
  /// (`upstream_closed`: idle upstream connections the sweep closed).
  void release_burst_memory(std::size_t upstream_closed);
  void on_drain(bool handover);
  void close_idle_sessions();

  // Before io_: destroying io_ destroys the frames of unfinished sessions, which still count themselves
  // out of these metrics (through context_) and return their request memory to scratch_ and their
  // pipes to pipes_.
  WorkerMetrics metrics_;
  ScratchPool scratch_;
  std::shared_ptr<const RoutingSnapshot> snapshot_;
  weights::Splitter splitter_;
  std::array<char, 64 * 1024> shared_buffer_;
  PipePool pipes_;
  std::array<std::uint32_t, 2> rr_{};
  std::atomic<std::int64_t>& open_connections_;
  FailureStreaks failure_streaks_;
  std::mt19937_64 random_{(std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()};
  bool draining_ = false;
  // What each session may use of this worker. It only refers to io_ and pool_, which come after it so
  // that it outlives the sessions io_ destroys.
  AccessLogBuffers& access_log_;
  // Before io_, like context_: destroying io_ unwinds reads that are still registered here. Its timer
  // comes after io_.
  ReadDeadlines read_deadlines_{read_deadline_timer_};
  SessionContext context_{io_,      snapshot_, splitter_,        pool_,
                          scratch_, SharedRelay{shared_buffer_, pipes_},
                          metrics_, draining_, rr_,              failure_streaks_,
                          open_connections_, random_, access_log_, read_deadlines_};
  // One thread runs it, and only that thread touches its sockets (the main thread only posts), so the
  // reactor need not lock each descriptor.
  boost::asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  struct Listener {
    std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor;
    std::size_t index;  ///< the listen entry
  };
  std::vector<Listener> acceptors_;
  UpstreamPool pool_{metrics_};
  std::int64_t connections_peak_ = 0;  ///< this worker's most client connections since the last sweep
  boost::asio::steady_timer sweep_timer_{io_};
  boost::asio::steady_timer access_log_timer_{io_};
  boost::asio::steady_timer idle_close_timer_{io_};
  boost::asio::steady_timer read_deadline_timer_{io_};
  boost::intrusive::list<ClientSession, boost::intrusive::base_hook<SessionHook>,
                         boost::intrusive::constant_time_size<false>>
      sessions_;
  ParkedList parked_;  ///< oldest first
  boost::asio::steady_timer park_timer_{io_};
  bool park_timer_armed_ = false;
  boost::asio::steady_timer release_timer_{io_};
  bool release_armed_ = false;
  std::int64_t parked_since_release_ = 0;
  bool idle_closed_ = false;  ///< the drain closed the idle connections: none parks any more
  std::int64_t running_sessions_ = 0;  ///< sessions with a coroutine (connections not parked)
  std::int64_t running_peak_ = 0;  ///< their most since the last sweep
  std::thread thread_;
};

}  // namespace canaryd::proxy
