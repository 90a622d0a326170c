// The /metrics page: contract section 5's metric families in Prometheus text format, summed over workers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/dataplane/routing_snapshot.hpp"

namespace canaryd::proxy {

class Worker;

/// What Kubernetes discovery reports, when it runs.
struct DiscoveryMetrics {
  bool api_reachable = false;
  std::uint64_t lists = 0;  ///< successful pod lists: the first one and every relist
};

/// Renders contract section 5 in the Prometheus text format (prometheus-cpp's TextSerializer), summing
/// the per-worker counters at scrape time, plus the discovery families when `discovery` is given.
/// Main thread only.
std::string render_metrics(const std::vector<std::unique_ptr<Worker>>& workers, const RoutingSnapshot& snapshot,
                           const DiscoveryMetrics* discovery = nullptr);

}  // namespace canaryd::proxy
