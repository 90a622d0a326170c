// Whether a rollout's step may move now, and if not why: the driver's one decision, pure so the unit
// tests drive it with a fake clock. A step moves once its pause is over, the canary has a healthy
// endpoint, the analysis (when the plan has one) passed its last check (low traffic is never a pass),
// and this replica drives the rollout (or the driver is overdue by kDriverTakeover).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "weights/rollout_analysis.hpp"
#include "weights/rollout_record.hpp"

namespace canaryd::weights {

struct StepDecision {
  bool advance = false;
  std::string holding;  ///< why a step whose pause is over does not move; empty otherwise
};

StepDecision decide_step(const RolloutRecord& record, std::chrono::system_clock::time_point now,
                         const std::optional<Verdict>& verdict, bool canary_healthy, const std::string& me);

}  // namespace canaryd::weights
