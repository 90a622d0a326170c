// The decisions of `canaryctl wait` (see wait_decision.hpp).
#include "ctl/wait_decision.hpp"

#include <algorithm>

namespace canaryd::ctl {
namespace {

std::size_t healthy_count(const SetView& set) {
  return static_cast<std::size_t>(
      std::count_if(set.endpoints.begin(), set.endpoints.end(), [](const EndpointView& e) { return e.healthy; }));
}

std::string endpoints_text(std::string_view name, const SetView& set) {
  return std::string(name) + " " + std::to_string(healthy_count(set)) + "/" + std::to_string(set.endpoints.size()) +
         " endpoints healthy";
}

}  // namespace

WaitDecision decide_completed(const RolloutView& r) {
  const std::string step = step_text(r);
  const std::string at = step.empty() ? std::string() : " at " + step;
  if (r.phase == "completed") {
    return {WaitOutcome::Reached, "rollout completed" + (r.reason.empty() ? std::string() : ": " + r.reason)};
  }
  if (r.phase == "aborted") {
    return {WaitOutcome::Failed, "rollout aborted" + at + (r.reason.empty() ? std::string() : ": " + r.reason)};
  }
  if (r.phase == "none") return {WaitOutcome::Failed, "no rollout to wait for (start one with `canaryctl rollout start`)"};
  std::string pending = "rollout " + r.phase + at;
  if (!r.reason.empty()) pending += " (" + r.reason + ")";
  return {WaitOutcome::Pending, pending};
}

WaitDecision decide_healthy(const StatusView& s) {
  if (s.aborted) {
    return {WaitOutcome::Failed, "the canary is aborted: it serves nothing until a weight is set again"};
  }
  std::string state = endpoints_text("stable", s.stable);
  if (s.canary) state += ", " + endpoints_text("canary", *s.canary);
  if (healthy_count(s.stable) == 0) return {WaitOutcome::Pending, "stable has no healthy endpoint (" + state + ")"};
  if (s.canary && healthy_count(*s.canary) == 0) {
    return {WaitOutcome::Pending, "canary has no healthy endpoint (" + state + ")"};
  }
  return {WaitOutcome::Reached, "healthy: " + state};
}

}  // namespace canaryd::ctl
