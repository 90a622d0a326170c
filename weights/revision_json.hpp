// One revision of the routing history as JSON, the element of the state's "revisions" array: written
// and read here only, so that the history's size bound (RoutingHistory) measures exactly what the state
// file and the ConfigMap hold.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "config/result.hpp"
#include "weights/routing_state.hpp"

namespace canaryd::weights {

/// {"revision", "time", "stable", "canary", "canary_weight_bp", "cause"}, and "aborted" when set and
/// "rollout" (rollout_record.hpp) when the state carries a rollout.
boost::json::object revision_to_json(const RoutingState& r);

/// The length of revision_to_json(r) as JSON text.
std::size_t revision_json_size(const RoutingState& r);

/// Parses one element of "revisions"; `where` is its path for messages ("revisions[2]").
Result<RoutingState> revision_from_json(const boost::json::value& v, const std::string& where);

/// A non-negative JSON integer, or nullopt.
std::optional<std::uint64_t> json_unsigned(const boost::json::value& v);

}  // namespace canaryd::weights
