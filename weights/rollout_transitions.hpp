// The rollout's changes as transitions (pure, like transitions.hpp): start, advance one step, pause,
// resume, abort, promote early. Each returns the next routing state (a revision: the record travels in
// RoutingState::rollout) or why there is none; ControlService persists and publishes.
//
// One rollout per cluster: every step is a conditional write of "advance from step k", so when two
// replicas both try, one write wins and the other, recomputed on the newer history, finds step k gone
// and changes nothing. The record names a driver (the replica that started it, or last moved it); other
// replicas advance only once the step is overdue by kDriverTakeover (the driver is gone), and then
// become the driver. Aborting needs no driver: any replica whose analysis fails may abort.
#pragma once

#include <chrono>
#include <string>

#include "config/rollout_plan.hpp"
#include "weights/transitions.hpp"

namespace canaryd::weights {

/// How long past a step's end a replica that is not the driver waits before it moves the step itself.
inline constexpr std::chrono::seconds kDriverTakeover{30};

/// Starts `plan` at step 1: the step's weight (or promote) as a new revision with the cause "rollout
/// step 1/N: weight W", phase progressing (paused for a manual pause). Conflict when a rollout is
/// active, there is no canary, or no canary endpoint is healthy; InvalidArgument when the plan is invalid.
TransitionResult start_rollout(const RoutingHistory& h, const config::RolloutPlan& plan, const std::string& driver,
                               const TransitionContext& ctx);

/// Moves the active rollout from step `from_step` to the next (or completes it with the promote after
/// the last step); nothing changes when it is no longer at `from_step` or not progressing. Conflict when
/// the canary has no healthy endpoint (steps never move then).
TransitionResult advance_rollout(const RoutingHistory& h, unsigned from_step, const std::string& driver,
                                 const TransitionContext& ctx);

/// progressing -> paused (keeping the time left of a timed pause); paused: nothing changes. Conflict
/// without an active rollout.
TransitionResult pause_rollout(const RoutingHistory& h, const TransitionContext& ctx);
/// paused -> progressing: a manual pause ends at once, a timed one continues with the time it had left;
/// progressing: nothing changes. Conflict without an active rollout.
TransitionResult resume_rollout(const RoutingHistory& h, const TransitionContext& ctx);
/// Rolls back (abort means zero) and ends the rollout as aborted with `reason`; already aborted:
/// nothing changes. Conflict when no rollout is active.
TransitionResult abort_rollout(const RoutingHistory& h, const std::string& reason, const TransitionContext& ctx);
/// Skips the remaining steps and promotes (the promote gate applies: Conflict when no canary endpoint
/// is healthy); completed. Conflict when no rollout is active.
TransitionResult promote_rollout(const RoutingHistory& h, const TransitionContext& ctx);

/// The cause of a step's revision: "rollout step 2/4: weight 25", "rollout step 4/4: promote".
std::string step_cause(const config::RolloutPlan& plan, unsigned step);

}  // namespace canaryd::weights
