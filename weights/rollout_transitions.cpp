// The rollout's transitions (see rollout_transitions.hpp): entering a step, moving to the next, pausing,
// resuming, aborting and promoting, each as the next revision carrying the updated record.
#include "weights/rollout_transitions.hpp"

#include <algorithm>

#include "config/duration.hpp"

namespace canaryd::weights {

namespace {

/// Deadlines in whole seconds, rounded up: the state file and the API print seconds, and a pause is
/// never cut short by the rounding.
std::chrono::system_clock::time_point deadline(std::chrono::system_clock::time_point now, std::chrono::milliseconds pause) {
  return std::chrono::ceil<std::chrono::seconds>(now + pause);
}

Failure<TransitionError> conflict(std::string message) {
  return fail(TransitionError{TransitionError::Kind::Conflict, std::move(message)});
}

std::string at_step(const RolloutRecord& r) {
  return "step " + std::to_string(r.step) + "/" + std::to_string(r.steps());
}

Result<const RolloutRecord*, TransitionError> running(const RoutingHistory& h) {
  const auto& rollout = h.current().rollout;
  if (!rollout || !rollout->active()) return conflict("no rollout is in progress");
  return &*rollout;
}

/// Puts `next` (a new revision carrying the record) at step `step`: its weight and its pause, or the
/// promote. The promote goes through promote(), so the gate and the end of the record are the same as
/// POST /api/promote's.
TransitionResult enter_step(const RoutingHistory& h, RoutingState next, unsigned step, const TransitionContext& ctx) {
  RolloutRecord& record = *next.rollout;
  record.step = step;
  record.pause_left.reset();
  record.reason.clear();
  const bool past_last = step > record.steps();
  const config::RolloutStep* s = past_last ? nullptr : &record.plan.steps[step - 1];
  if (past_last || s->promote) {
    auto promoted = promote(h, ctx, false);
    if (!promoted) return promoted;
    RoutingState done = std::move(*promoted);
    RolloutRecord finished = std::move(record);
    finished.step = finished.steps();
    finished.phase = RolloutPhase::Completed;
    finished.pause_until.reset();
    finished.reason = "promoted";
    done.rollout = std::move(finished);
    done.cause = past_last ? "rollout completed after step " + std::to_string(step - 1) + "/" +
                                 std::to_string(step - 1) + ": promote"
                           : step_cause(done.rollout->plan, step);
    return done;
  }
  if (s->weight) next.canary_weight = *s->weight;
  switch (s->pause) {
    case config::PauseKind::Manual:
      record.phase = RolloutPhase::Paused;
      record.pause_until.reset();
      record.reason = "waiting at a manual pause: resume to continue";
      break;
    case config::PauseKind::Timed:
      record.phase = RolloutPhase::Progressing;
      record.pause_until = deadline(ctx.now, s->pause_for);
      break;
    case config::PauseKind::None:
      record.phase = RolloutPhase::Progressing;
      record.pause_until = deadline(ctx.now, std::chrono::milliseconds(0));
      break;
  }
  next.cause = step_cause(record.plan, step);
  return next;
}

}  // namespace

std::string step_cause(const config::RolloutPlan& plan, unsigned step) {
  std::string cause = "rollout step " + std::to_string(step) + "/" + std::to_string(plan.steps.size()) + ": ";
  const config::RolloutStep& s = plan.steps.at(step - 1);
  if (s.promote) return cause + "promote";
  if (s.weight) return cause + "weight " + config::format_weight(*s.weight);
  if (s.pause == config::PauseKind::Manual) return cause + "pause manual";
  return cause + "pause " + config::format_duration(s.pause_for);
}

TransitionResult start_rollout(const RoutingHistory& h, const config::RolloutPlan& plan, const std::string& driver,
                               const TransitionContext& ctx) {
  if (auto valid = config::validate(plan); !valid) {
    return fail(TransitionError{TransitionError::Kind::InvalidArgument, valid.error().message});
  }
  const RoutingState& cur = h.current();
  if (cur.rollout && cur.rollout->active()) return conflict("a rollout is already in progress (" + at_step(*cur.rollout) + ")");
  if (!cur.canary) return conflict("no canary set is defined: define one (PUT /api/canary) before a rollout");
  const auto [any, any_healthy] = canary_endpoints(cur, ctx);
  if (!any_healthy) {
    return conflict(any ? "the canary set has no healthy endpoint: a rollout cannot start"
                        : "the canary set has no endpoint: a rollout cannot start");
  }
  RoutingState next = next_revision(h, ctx);
  RolloutRecord record;
  record.plan = plan;
  record.driver = driver;
  record.started_revision = next.revision;
  next.rollout = std::move(record);
  return enter_step(h, std::move(next), 1, ctx);
}

TransitionResult advance_rollout(const RoutingHistory& h, unsigned from_step, const std::string& driver,
                                 const TransitionContext& ctx) {
  const RoutingState& cur = h.current();
  // Another replica (or an operator) moved it first: nothing left to do.
  if (!cur.rollout || cur.rollout->phase != RolloutPhase::Progressing || cur.rollout->step != from_step) return cur;
  if (!canary_endpoints(cur, ctx).any_healthy) {
    return conflict("the canary set has no healthy endpoint: the rollout holds at " + at_step(*cur.rollout));
  }
  RoutingState next = next_revision(h, ctx);
  next.rollout->driver = driver;
  return enter_step(h, std::move(next), from_step + 1, ctx);
}

TransitionResult pause_rollout(const RoutingHistory& h, const TransitionContext& ctx) {
  auto record = running(h);
  if (!record) return fail(std::move(record).error());
  if ((*record)->phase == RolloutPhase::Paused) return h.current();
  RoutingState next = next_revision(h, ctx);
  RolloutRecord& r = *next.rollout;
  if (r.pause_until) {
    r.pause_left = std::max(std::chrono::milliseconds(0),
                            std::chrono::duration_cast<std::chrono::milliseconds>(*r.pause_until - ctx.now));
  }
  r.pause_until.reset();
  r.phase = RolloutPhase::Paused;
  r.reason = "paused by an operator";
  if (ctx.cause.empty()) next.cause = "rollout paused at " + at_step(r);
  return next;
}

TransitionResult resume_rollout(const RoutingHistory& h, const TransitionContext& ctx) {
  auto record = running(h);
  if (!record) return fail(std::move(record).error());
  if ((*record)->phase == RolloutPhase::Progressing) return h.current();
  RoutingState next = next_revision(h, ctx);
  RolloutRecord& r = *next.rollout;
  r.pause_until = deadline(ctx.now, r.pause_left.value_or(std::chrono::milliseconds(0)));
  r.pause_left.reset();
  r.phase = RolloutPhase::Progressing;
  r.reason.clear();
  if (ctx.cause.empty()) next.cause = "rollout resumed at " + at_step(r);
  return next;
}

TransitionResult abort_rollout(const RoutingHistory& h, const std::string& reason, const TransitionContext& ctx) {
  const auto& rollout = h.current().rollout;
  if (rollout && rollout->phase == RolloutPhase::Aborted) return h.current();
  auto record = running(h);
  if (!record) return fail(std::move(record).error());
  auto rolled_back = rollback(h, ctx);
  if (!rolled_back) return rolled_back;
  RoutingState next = std::move(*rolled_back);
  next.rollout->reason = reason;
  next.cause = "rollout aborted: " + reason;
  return next;
}

TransitionResult promote_rollout(const RoutingHistory& h, const TransitionContext& ctx) {
  auto record = running(h);
  if (!record) return fail(std::move(record).error());
  const std::string where = at_step(**record);
  auto promoted = promote(h, ctx, false);
  if (!promoted) return promoted;
  promoted->rollout->reason = "promoted early by an operator at " + where;
  if (ctx.cause.empty()) promoted->cause = "rollout promoted early at " + where;
  return promoted;
}

}  // namespace canaryd::weights
