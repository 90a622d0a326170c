#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/flex_stream.hpp"

namespace canaryd::proxy {

class WorkerMetrics;

/// One worker's idle keep-alive connections to upstream endpoints, indexed by endpoint id. Worker
/// thread only, so no lock. A pooled connection the upstream has closed meanwhile is detected when it
/// is taken (a non-blocking peek) and dropped without counting as an endpoint failure.
class UpstreamPool {
 public:
  explicit UpstreamPool(WorkerMetrics& metrics) : metrics_(metrics) {}

  /// Owned connection; a pointer so that handing it between pool and session never allocates.
  using Connection = std::unique_ptr<FlexStream>;

  /// A live idle connection to that endpoint, or null.
  Connection take(std::uint32_t endpoint_id);

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
  static bool still_open(FlexStream& s);
  void close(FlexStream& s);

  WorkerMetrics& metrics_;
  std::vector<std::vector<Connection>> idle_;
};

}  // namespace canaryd::proxy
