// A worker's idle keep-alive connections to upstream endpoints: taken for a request, given back after a
// complete response, swept when stale, bounded in number.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/net/flex_stream.hpp"

namespace canaryd::proxy {

class WorkerMetrics;

/// One worker's idle keep-alive connections to upstream endpoints, indexed by endpoint id. Worker
/// thread only, so no lock. A connection the upstream closed meanwhile (or that has unasked bytes) is
/// found by a non-blocking peek when it is taken, and dropped without counting as an endpoint failure.
/// The peek is a system call, so it is skipped for a request that can be sent again (the session
/// resends it on another connection when this one turns out closed) if the connection has been idle
/// for less than kTrustedIdle: shorter than any keep-alive timeout an upstream would close it on, and
/// long enough to cover a busy connection's reuse.
class UpstreamPool {
 public:
  explicit UpstreamPool(WorkerMetrics& metrics) : metrics_(metrics) {}

  /// Owned connection; a pointer so that handing it between pool and session never allocates.
  using Connection = std::unique_ptr<FlexStream>;

  /// An idle connection to that endpoint, or null. `resendable`: the caller can send its request again
  /// should the connection turn out closed.
  Connection take(std::uint32_t endpoint_id, bool resendable);

  /// Keeps a connection whose last response was complete and keep-alive, unless the pool is full.
  void give_back(std::uint32_t endpoint_id, Connection connection);

  /// Idle connections kept at most, over all endpoints: this worker's share of the descriptors left
  /// for idle upstream connections (proxy/control/connection_budget.hpp). A lower bound closes the excess now.
  void set_max_idle(std::size_t most);
  std::size_t idle() const { return idle_count_; }

  /// Closes connections that went stale, every connection to an endpoint not in `live_ids`, and those
  /// a burst left: beyond the newest kKeptIdle of an endpoint, any no request took for kUnneededAfter.
  /// Returns how many it closed.
  std::size_t sweep(const std::vector<bool>& live_ids, std::chrono::steady_clock::time_point now);

  /// Closes every connection to an endpoint not in `live_ids` (a pod that went away), and only those.
  void close_removed(const std::vector<bool>& live_ids);

  /// Closes everything (drain).
  void clear();

  /// Idle connections kept per endpoint at most.
  static constexpr std::size_t kMaxIdlePerEndpoint = 1024;
  /// Kept per endpoint by sweep() however long they were idle (until the upstream closes them).
  static constexpr std::size_t kKeptIdle = 8;
  /// Idle this long, a connection beyond kKeptIdle was not needed: taking hands out the newest first,
  /// so the demand of that time never reached it.
  static constexpr auto kUnneededAfter = std::chrono::seconds(5);

 private:
  static constexpr auto kTrustedIdle = std::chrono::seconds(1);

  struct Idle {
    Connection connection;
    std::chrono::steady_clock::time_point since;
  };
  static bool still_open(FlexStream& s);
  void close(FlexStream& s);

  WorkerMetrics& metrics_;
  std::vector<std::vector<Idle>> idle_;
  std::size_t idle_count_ = 0;  ///< over all lists in idle_
  std::size_t max_idle_ = SIZE_MAX;
};

}  // namespace canaryd::proxy
