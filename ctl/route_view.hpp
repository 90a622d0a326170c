// What canaryctl reads of POST /api/explain's answer (contract section 8) and `canaryctl route`'s line:
// which set a described request would go to now, and the rule that decided.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/result.hpp"

namespace canaryd::ctl {

struct RouteView {
  std::string set;     ///< stable|canary, or "" when no set has a healthy endpoint
  std::string reason;  ///< header|cookie|affinity|weight|fallback|aborted (printable)
  std::optional<std::uint32_t> bucket;
  double canary_weight = 0;       ///< percent
  double canary_probability = 0;  ///< 0..1
  bool new_cookie = false;
};

/// Parses the explain answer; the error says what is missing or malformed.
Result<RouteView> parse_route(std::string_view json);

/// One line: "canary (affinity: bucket 1234 < 3000, the weight 30% in basis points)".
std::string render_route(const RouteView& route);

}  // namespace canaryd::ctl
