// The driver's decision to move a step (see rollout_step_decision.hpp).
#include "weights/rollout_step_decision.hpp"

#include "weights/rollout_transitions.hpp"

namespace canaryd::weights {

StepDecision decide_step(const RolloutRecord& record, std::chrono::system_clock::time_point now,
                         const std::optional<Verdict>& verdict, bool canary_healthy, const std::string& me) {
  if (record.phase != RolloutPhase::Progressing || !record.pause_until || now < *record.pause_until) return {};
  const std::string at = "holding at step " + std::to_string(record.step) + "/" + std::to_string(record.steps()) + ": ";
  if (!canary_healthy) return {false, at + "the canary set has no healthy endpoint"};
  if (const auto& analysis = record.plan.analysis) {
    if (!verdict) return {false, at + "waiting for the analysis's first check"};
    if (verdict->kind != VerdictKind::pass) {
      if (verdict->canary.requests < analysis->min_requests) {
        return {false, at + std::to_string(verdict->canary.requests) + " of " + std::to_string(analysis->min_requests) +
                           " canary requests in the analysis window (low traffic is never a pass)"};
      }
      return {false, at + "the analysis says " + verdict_name(verdict->kind) +
                         (verdict->reason.empty() ? std::string() : ": " + verdict->reason)};
    }
  }
  if (record.driver != me && now < *record.pause_until + kDriverTakeover) {
    return {false, at + "replica " + record.driver + " drives this rollout"};
  }
  return {true, ""};
}

}  // namespace canaryd::weights
