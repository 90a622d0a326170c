// What a client session needs of its worker, and nothing more: the worker hands each session this
// set of references, so that the session does not depend on the Worker class (which owns them).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <span>

#include <boost/asio/io_context.hpp>

#include "proxy/dataplane/access_log_buffers.hpp"
#include "proxy/dataplane/failure_streaks.hpp"
#include "proxy/dataplane/length_relay.hpp"
#include "proxy/dataplane/read_deadlines.hpp"
#include "proxy/dataplane/request_scratch.hpp"
#include "proxy/dataplane/routing_snapshot.hpp"
#include "proxy/dataplane/upstream_pool.hpp"
#include "proxy/dataplane/worker_metrics.hpp"
#include "weights/splitter.hpp"

namespace canaryd::proxy {

/// References into one worker's state; worker thread only. Plain references: no virtual call and no
/// allocation per request.
struct SessionContext {
  boost::asio::io_context& io;
  /// The snapshot the next request uses; the worker replaces it on publish, so a request copies it.
  const std::shared_ptr<const RoutingSnapshot>& snapshot;
  weights::Splitter& splitter;
  UpstreamPool& pool;
  ScratchPool& scratch;
  /// The buffer and pipes every Content-Length relay of the worker may borrow (relay_length).
  SharedRelay shared_relay;
  WorkerMetrics& metrics;
  /// Set once the worker drains; never cleared.
  const bool& draining;
  /// Round-robin position per set.
  std::array<std::uint32_t, 2>& round_robin;
  FailureStreaks& failure_streaks;
  /// Client connections of the whole process (limits.max_connections).
  std::atomic<std::int64_t>& open_connections;
  /// The worker's random numbers (the affinity cookies canaryd gives out).
  std::mt19937_64& random;
  /// The worker's access log buffers (written when the snapshot's access_log is set).
  AccessLogBuffers& access_log;
  /// The deadlines of reads waiting on upstreams, on the worker's one timer.
  ReadDeadlines& read_deadlines;

  std::uint32_t next_index(SetKind set) { return round_robin[static_cast<std::size_t>(set)]++; }
  /// How a request to `endpoint` went, for passive ejection (FailureStreaks::record).
  void record_outcome(const UpstreamEndpoint& endpoint, bool failed) {
    failure_streaks.record(*snapshot, endpoint, failed);
  }
};

}  // namespace canaryd::proxy
