// The canary weight: basis points (0..10000), the one parser of a weight's text for both the YAML config
// and the control API's JSON, and its printed forms.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/result.hpp"

namespace canaryd::config {

/// Canary weight in basis points: 0..10000 (0.01 % steps).
using BasisPoints = std::uint32_t;
inline constexpr BasisPoints kMaxBasisPoints = 10000;

/// Parses a decimal text weight ("10", "2.5", "33.33"): 0..100 with at most two decimals, nothing else
/// (no sign, exponent, hex, spaces). Never rounds or clamps. The one rule for weights: the config's YAML
/// scalars and the control API's JSON numbers (by their text, since a double cannot tell 33.33 from
/// 33.3300000000000001) both go through it.
Result<BasisPoints> parse_weight_text(std::string_view text);

/// Basis points as a JSON-friendly percent: 1050 -> 10.5.
double weight_percent(BasisPoints bp);

/// Basis points printed shortest: 1000 -> "10", 250 -> "2.5", 3333 -> "33.33".
std::string format_weight(BasisPoints bp);

}  // namespace canaryd::config
