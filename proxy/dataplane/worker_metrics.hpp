// One worker's request, error and connection counters, and its rollout evidence per set: written by
// that worker alone without a locked instruction, summed by the main thread for /metrics and the
// rollout analysis.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

#include "proxy/dataplane/routing_snapshot.hpp"
#include "weights/rollout_evidence.hpp"
#include "weights/route_decision.hpp"

namespace canaryd::proxy {

/// Upper bounds (seconds) of canaryd_request_duration_seconds; +Inf is implicit.
inline constexpr std::array<double, 12> kDurationBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1,   0.25,   0.5,   1.0,  2.5,   10.0};
enum class UpstreamErrorKind : std::uint8_t { Connect = 0, Timeout = 1, Reset = 2 };
inline constexpr std::array<const char*, 3> kUpstreamErrorNames = {"connect", "timeout", "reset"};
/// How many weights::RouteReason values there are (header ... aborted).
inline constexpr std::size_t kRouteReasons = 6;
inline constexpr std::array<const char*, 4> kCodeClassNames = {"2xx", "3xx", "4xx", "5xx"};
/// The protocol a client sent its request in (canaryd_requests_total{protocol}).
enum class Protocol : std::uint8_t { Http1 = 0, Http2 = 1 };
inline constexpr std::array<const char*, 2> kProtocolNames = {"http1", "http2"};

/// How a finished request counts for the rollout analysis.
struct RolloutSample {
  bool weight_placed = false;    ///< SetChoice::weight_placed: only these requests are evidence
  bool upstream_failed = false;  ///< the upstream broke the response off: an error whatever its status
};

/// One worker's counters. Only the owning worker writes (a relaxed load and store, no locked
/// instruction); the main thread reads them when /metrics is scraped and sums over workers.
class WorkerMetrics {
 public:
  using Counter = std::atomic<std::uint64_t>;

  /// Worker thread: one finished request. When the weight placed it, it is also rollout evidence for
  /// its set: an error when the status is 5xx (canaryd's own 502/503/504 included) or the upstream
  /// failed mid-response, with the whole exchange's latency.
  void record_request(SetKind set, unsigned status, std::chrono::steady_clock::duration took,
                      RolloutSample sample = {}, Protocol protocol = Protocol::Http1) {
    auto s = static_cast<std::size_t>(set);
    std::size_t cls = status < 300 ? 0 : status < 400 ? 1 : status < 500 ? 2 : 3;
    bump(requests_[static_cast<std::size_t>(protocol)][s][cls]);
    double seconds = std::chrono::duration<double>(took).count();
    std::size_t b = 0;
    while (b < kDurationBuckets.size() && seconds > kDurationBuckets[b]) ++b;
    bump(buckets_[s][b]);
    auto us = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(took).count());
    duration_us_[s].store(duration_us_[s].load(std::memory_order_relaxed) + us, std::memory_order_relaxed);
    if (sample.weight_placed && s < evidence_.size()) evidence_[s].record(status >= 500 || sample.upstream_failed, us);
  }
  /// Worker thread.
  void record_upstream_error(SetKind set, UpstreamErrorKind kind) {
    bump(upstream_errors_[static_cast<std::size_t>(set)][static_cast<std::size_t>(kind)]);
  }
  /// Worker thread: the chosen set had no healthy endpoint and `from` fell back to the other.
  void record_fallback(SetKind from) { bump(fallback_[static_cast<std::size_t>(from)]); }
  /// Worker thread: which rule chose `set` for a request (canaryd_routing_decisions_total).
  void record_decision(SetKind set, weights::RouteReason reason) {
    bump(decisions_[static_cast<std::size_t>(set)][static_cast<std::size_t>(reason)]);
  }
  /// Worker thread: a WebSocket tunnel of `set` (Stable or Canary) started (+1) or ended (-1).
  void tunnels(SetKind set, int delta) {
    const auto s = static_cast<std::size_t>(set);
    if (delta > 0) bump(tunnels_total_[s]);
    add(tunnels_active_[s], delta);
  }
  /// Worker thread: +1 / -1 open connections.
  void client_connections(int delta) { add(client_connections_, delta); }
  void upstream_connections(int delta) { add(upstream_connections_, delta); }

  // Readers (main thread, at scrape time).
  std::uint64_t requests(std::size_t protocol, std::size_t set, std::size_t cls) const {
    return requests_[protocol][set][cls].load(std::memory_order_relaxed);
  }
  /// Over both protocols.
  std::uint64_t requests(std::size_t set, std::size_t cls) const { return requests(0, set, cls) + requests(1, set, cls); }
  std::uint64_t bucket(std::size_t set, std::size_t b) const { return buckets_[set][b].load(std::memory_order_relaxed); }
  std::uint64_t duration_us(std::size_t set) const { return duration_us_[set].load(std::memory_order_relaxed); }
  std::uint64_t upstream_errors(std::size_t set, std::size_t kind) const {
    return upstream_errors_[set][kind].load(std::memory_order_relaxed);
  }
  std::uint64_t decisions(std::size_t set, std::size_t reason) const {
    return decisions_[set][reason].load(std::memory_order_relaxed);
  }
  std::uint64_t fallbacks(std::size_t from) const { return fallback_[from].load(std::memory_order_relaxed); }
  /// The rollout evidence of `set` (Stable or Canary) so far; SetCounters::add_to sums it.
  const weights::SetCounters& evidence(SetKind set) const { return evidence_[static_cast<std::size_t>(set)]; }
  std::uint64_t tunnels_total(std::size_t set) const { return tunnels_total_[set].load(std::memory_order_relaxed); }
  std::int64_t tunnels_active(std::size_t set) const { return tunnels_active_[set].load(std::memory_order_relaxed); }
  std::int64_t client_connections() const { return client_connections_.load(std::memory_order_relaxed); }
  std::int64_t upstream_connections() const { return upstream_connections_.load(std::memory_order_relaxed); }

 private:
  static void bump(Counter& c) { c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  static void add(std::atomic<std::int64_t>& c, int d) {
    c.store(c.load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
  }

  std::array<std::array<std::array<Counter, 4>, 3>, 2> requests_{};  ///< [protocol][set][code class]
  std::array<std::array<Counter, kDurationBuckets.size() + 1>, 3> buckets_{};  ///< per bucket, not cumulative
  std::array<Counter, 3> duration_us_{};
  std::array<std::array<Counter, 3>, 2> upstream_errors_{};
  std::array<Counter, 2> fallback_{};
  std::array<std::array<Counter, kRouteReasons>, 3> decisions_{};  ///< [set][weights::RouteReason]
  std::array<weights::SetCounters, 2> evidence_{};  ///< stable, canary: the requests the weight placed
  std::array<Counter, 2> tunnels_total_{};                  ///< stable, canary
  std::array<std::atomic<std::int64_t>, 2> tunnels_active_{};  ///< stable, canary
  std::atomic<std::int64_t> client_connections_{0};
  std::atomic<std::int64_t> upstream_connections_{0};
};

}  // namespace canaryd::proxy
