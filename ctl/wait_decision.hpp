// `canaryctl wait`'s judgement of one poll: reached, failed for good, or not yet, with the line to print.
// Pure, so every case is unit-tested without a server.
#pragma once

#include <string>

#include "ctl/api_views.hpp"
#include "ctl/rollout_view.hpp"

namespace canaryd::ctl {

enum class WaitOutcome { Reached, Failed, Pending };

struct WaitDecision {
  WaitOutcome outcome = WaitOutcome::Pending;
  std::string message;  ///< what happened, or what is still awaited
};

/// --for completed: completed -> Reached; aborted or none -> Failed at once (nothing left to wait for);
/// progressing or paused -> Pending (a paused rollout may be resumed; the timeout bounds the wait).
WaitDecision decide_completed(const RolloutView& rollout);

/// --for healthy: stable, and canary if defined, each have a healthy endpoint, and nothing is aborted.
/// Aborted -> Failed at once (only a new weight clears it); a set without a healthy endpoint -> Pending.
WaitDecision decide_healthy(const StatusView& status);

}  // namespace canaryd::ctl
