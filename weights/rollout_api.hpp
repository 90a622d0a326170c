// The /api/rollout document (contract section 7) and what the control API needs from the process to
// answer the rollout calls: the configured plan, this replica's name, and the driver's live view (the
// analysis's last verdict, why a step holds), which is not part of the routing state.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "config/rollout_plan.hpp"
#include "weights/rollout_analysis.hpp"
#include "weights/routing_state.hpp"

namespace canaryd::weights {

/// What the rollout driver sees now, beside the record.
struct RolloutLive {
  std::optional<Verdict> verdict;  ///< the analysis's last check; absent before the first, or without analysis
  std::string holding;             ///< why a step whose pause is over has not moved; empty when it has not
};

struct RolloutHooks {
  std::function<std::optional<config::RolloutPlan>()> configured_plan;  ///< the config's `rollout:`
  std::function<RolloutLive()> live;
  std::string driver;  ///< this replica's name, recorded when it starts or moves a rollout
};

/// GET /api/rollout: {"phase", "step", "steps", "canary_weight", "pause_until", "analysis", "reason", ...}
/// for `state` (phase "none" without a record). `unchanged` adds "unchanged": true (a call that changed
/// nothing).
std::string render_rollout(const RoutingState& state, const RolloutLive& live, bool unchanged = false);

}  // namespace canaryd::weights
