#pragma once

#include <memory>
#include <string>
#include <vector>

#include "proxy/routing_snapshot.hpp"

namespace canaryd::proxy {

class Worker;

/// Renders contract section 5 in the Prometheus text format (prometheus-cpp's TextSerializer), summing
/// the per-worker counters at scrape time. Main thread only.
std::string render_metrics(const std::vector<std::unique_ptr<Worker>>& workers, const RoutingSnapshot& snapshot);

}  // namespace canaryd::proxy
