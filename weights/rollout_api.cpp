// The /api/rollout document (see rollout_api.hpp).
#include "weights/rollout_api.hpp"

#include "weights/json_text.hpp"

namespace canaryd::weights {

namespace {

namespace json = boost::json;

json::value figures_json(const SetFigures& f) {
  json::object o;
  o["requests"] = f.requests;
  o["error_rate"] = f.error_rate;
  if (f.p99_ms) {
    o["p99_ms"] = *f.p99_ms;
  } else {
    o["p99_ms"] = nullptr;
  }
  return o;
}

/// The analysis part: null when the plan has none; before the first check, empty figures and
/// "inconclusive" (low traffic is never a pass).
json::value analysis_json(const RolloutRecord& record, const RolloutLive& live) {
  if (!record.plan.analysis) return nullptr;
  const Verdict verdict = live.verdict.value_or(Verdict{});
  json::object o;
  o["stable"] = figures_json(verdict.stable);
  o["canary"] = figures_json(verdict.canary);
  o["verdict"] = verdict_name(verdict.kind);
  o["failures"] = verdict.failures;
  return o;
}

}  // namespace

std::string render_rollout(const RoutingState& state, const RolloutLive& live, bool unchanged) {
  json::object o;
  o["revision"] = state.revision;
  o["canary_weight"] = config::weight_percent(state.canary_weight);
  if (!state.rollout) {
    o["phase"] = "none";
    o["step"] = 0;
    o["steps"] = 0;
    o["pause_until"] = nullptr;
    o["analysis"] = nullptr;
    o["reason"] = "";
  } else {
    const RolloutRecord& r = *state.rollout;
    o["phase"] = phase_name(r.phase);
    o["step"] = r.step;
    o["steps"] = r.steps();
    if (r.pause_until) {
      o["pause_until"] = format_time(*r.pause_until);
    } else {
      o["pause_until"] = nullptr;
    }
    o["analysis"] = analysis_json(r, live);
    // The record's reason says why it stands where it stands; a step held past its pause says why.
    o["reason"] = !r.reason.empty() || !r.active() ? r.reason : live.holding;
    o["started_revision"] = r.started_revision;
    o["driver"] = r.driver;
  }
  if (unchanged) o["unchanged"] = true;
  return to_json_text(o);
}

}  // namespace canaryd::weights
