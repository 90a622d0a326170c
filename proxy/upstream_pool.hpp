#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/flex_stream.hpp"

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

  /// Keeps a connection whose last response was complete and keep-alive.
  void give_back(std::uint32_t endpoint_id, Connection connection);

  /// Closes connections that went stale and every connection to an endpoint not in `live_ids`.
  void sweep(const std::vector<bool>& live_ids);

  /// Closes every connection to an endpoint not in `live_ids` (a pod that went away), and only those.
  void close_removed(const std::vector<bool>& live_ids);

  /// Closes everything (drain).
  void clear();

  /// Idle connections kept per endpoint at most.
  static constexpr std::size_t kMaxIdlePerEndpoint = 1024;

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
};

}  // namespace canaryd::proxy
