// Validation of a rollout plan and of its analysis settings (see rollout_plan.hpp).
#include "config/rollout_plan.hpp"

#include <string>

namespace canaryd::config {

Result<void> validate(const AnalysisSettings& s) {
  if (s.interval.count() <= 0) return fail("analysis.interval: must be positive");
  if (s.window < s.interval) return fail("analysis.window: must be at least analysis.interval");
  if (s.min_requests == 0 || s.min_requests > kMaxMinRequests) {
    return fail("analysis.min_requests: must be an integer from 1 to " + std::to_string(kMaxMinRequests));
  }
  if (!(s.max_error_rate > 0 && s.max_error_rate < 100)) {
    return fail("analysis.max_error_rate: must be between 0 and 100 (exclusive)");
  }
  if (!(s.max_error_ratio >= 1)) return fail("analysis.max_error_ratio: must be at least 1");
  if (!(s.alpha > 0 && s.alpha < 1)) return fail("analysis.alpha: must be between 0 and 1 (exclusive)");
  if (!(s.max_p99_ratio >= 1)) return fail("analysis.max_p99_ratio: must be at least 1");
  if (s.failure_limit == 0 || s.failure_limit > kMaxFailureLimit) {
    return fail("analysis.failure_limit: must be an integer from 1 to " + std::to_string(kMaxFailureLimit));
  }
  return {};
}

Result<void> validate(const RolloutPlan& plan) {
  if (plan.steps.empty()) return fail("steps: must list at least one step");
  if (plan.steps.size() > kMaxRolloutSteps) {
    return fail("steps: at most " + std::to_string(kMaxRolloutSteps) + " steps");
  }
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    const RolloutStep& step = plan.steps[i];
    const std::string where = "steps[" + std::to_string(i) + "]";
    if (step.promote) {
      if (step.weight || step.pause != PauseKind::None) return fail(where + ": promote stands alone in its step");
      if (i + 1 != plan.steps.size()) return fail(where + ": promote must be the last step");
      continue;
    }
    if (!step.weight && step.pause == PauseKind::None) return fail(where + ": needs a weight, a pause or promote");
    if (step.weight && *step.weight > kMaxBasisPoints) return fail(where + ".weight: must be between 0 and 100");
    if (step.pause == PauseKind::Timed && (step.pause_for.count() <= 0 || step.pause_for > kMaxRolloutPause)) {
      return fail(where + ".pause: must be a duration of at most 168h, or manual");
    }
  }
  if (plan.analysis) {
    if (auto ok = validate(*plan.analysis); !ok) return ok;
  }
  return {};
}

}  // namespace canaryd::config
