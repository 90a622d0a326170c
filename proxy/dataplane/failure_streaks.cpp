// The failure streak counting of failure_streaks.hpp.
#include "proxy/dataplane/failure_streaks.hpp"

#include <algorithm>

namespace canaryd::proxy {

void FailureStreaks::record(const RoutingSnapshot& snapshot, const UpstreamEndpoint& endpoint, bool failed) {
  const unsigned threshold = snapshot.ejection_threshold;
  if (threshold == 0) return;
  if (endpoint.id >= streaks_.size()) {
    if (!failed) return;
    streaks_.resize(std::max(endpoint.id, snapshot.max_endpoint_id) + 1);  // once per new endpoint, not per request
  }
  auto& streak = streaks_[endpoint.id];
  if (!failed) {
    streak = 0;
    return;
  }
  if (++streak < threshold) return;
  streak = 0;
  if (report_) report_(endpoint.name);
}

}  // namespace canaryd::proxy
