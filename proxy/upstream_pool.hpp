#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/flex_stream.hpp"

namespace canaryd::proxy {

class WorkerMetrics;

/// One worker's idle keep-alive connections to upstream endpoints, indexed by endpoint id. Worker
/// thread only, so no lock. An idle connection is watched for readability, as nginx and HAProxy watch
/// theirs: when the upstream closes it (or sends anything unasked) it leaves the pool at once, so taking
/// one costs no system call. For a request that could not be sent again, take() also peeks, to catch a
/// close that raced the return to the pool.
class UpstreamPool {
 public:
  explicit UpstreamPool(WorkerMetrics& metrics) : metrics_(metrics) {}

  /// Owned connection; a pointer so that handing it between pool and session never allocates.
  using Connection = std::unique_ptr<FlexStream>;

  /// An idle connection to that endpoint, or null. `verify`: peek first (a system call), for a request
  /// that could not be resent if the connection turned out closed.
  Connection take(std::uint32_t endpoint_id, bool verify);

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
  struct Idle {
    Connection connection;
    std::uint64_t generation;  ///< tells a stale readability report from one about this stay in the pool
  };
  static bool still_open(FlexStream& s);
  void close(FlexStream& s);
  void watch(std::uint32_t endpoint_id, Idle& idle);
  void on_readable(std::uint32_t endpoint_id, std::uint64_t generation);

  WorkerMetrics& metrics_;
  std::vector<std::vector<Idle>> idle_;
  std::uint64_t next_generation_ = 0;
};

}  // namespace canaryd::proxy
