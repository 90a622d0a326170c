// One worker's count of each endpoint's failed requests in a row, for passive ejection: at the
// snapshot's threshold the endpoint is reported (the report posts to the main thread).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "proxy/dataplane/routing_snapshot.hpp"

namespace canaryd::proxy {

class FailureStreaks {
 public:
  /// `report` runs with an endpoint's name each time its streak reaches the threshold.
  explicit FailureStreaks(std::function<void(const std::string&)> report = {}) : report_(std::move(report)) {}

  /// How a request to `endpoint` went under `snapshot` (its ejection_threshold; 0: off). A failure is a
  /// connect failure, a reset or timeout before the response, or a 5xx answer.
  void record(const RoutingSnapshot& snapshot, const UpstreamEndpoint& endpoint, bool failed);

 private:
  std::function<void(const std::string&)> report_;
  std::vector<std::uint16_t> streaks_;  ///< by endpoint id
};

}  // namespace canaryd::proxy
