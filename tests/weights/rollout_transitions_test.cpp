// Unit tests of the rollout state machine with a fake clock: start, steps and their causes, pauses
// (timed, manual, by an operator), resume with the time left, abort means zero, promote early and at
// the end, the gate, one step per "advance from k" (two replicas), manual changes refused meanwhile.
#include "weights/rollout_transitions.hpp"

#include <gtest/gtest.h>

#include "tests/weights/test_support.hpp"

namespace canaryd::weights {
namespace {

using namespace std::chrono_literals;
using test_support::at;
using test_support::sel;

config::RolloutStep weight_step(config::BasisPoints bp, std::optional<std::chrono::milliseconds> pause = {}) {
  config::RolloutStep s;
  s.weight = bp;
  if (pause) {
    s.pause = config::PauseKind::Timed;
    s.pause_for = *pause;
  }
  return s;
}

config::RolloutStep manual_step(config::BasisPoints bp) {
  config::RolloutStep s;
  s.weight = bp;
  s.pause = config::PauseKind::Manual;
  return s;
}

config::RolloutStep promote_step() {
  config::RolloutStep s;
  s.promote = true;
  return s;
}

config::RolloutPlan contract_plan() {
  return {{weight_step(500, 2min), manual_step(2500), weight_step(5000, 5min), promote_step()}, std::nullopt};
}

class RolloutTransitionsTest : public ::testing::Test {
 protected:
  RolloutTransitionsTest() : history_(initial(), 50) {
    ctx_.service_selector = sel("app=nginx");
    ctx_.endpoint_labels = {{{"app", "nginx"}, {"version", "v1"}}, {{"app", "nginx"}, {"version", "v2"}}};
    ctx_.endpoint_healthy = {true, true};
    ctx_.now = at(100);
  }

  static RoutingState initial() {
    RoutingState s;
    s.stable = sel("version=v1");
    s.canary = sel("version=v2");
    s.time = at(0);
    return s;
  }

  const RoutingState& accept(const TransitionResult& r) {
    EXPECT_TRUE(r.ok()) << (!r.ok() ? r.error().message : "");
    if (r.ok() && r->revision > history_.current().revision) history_.push(*r);
    return history_.current();
  }
  TransitionError refused(const TransitionResult& r) {
    EXPECT_FALSE(r.ok());
    return r.ok() ? TransitionError{} : r.error();
  }
  const RolloutRecord& record() { return *history_.current().rollout; }
  void canary_down() { ctx_.endpoint_healthy = {true, false}; }
  /// The result is the current state itself: nothing to write.
  void expect_same(const TransitionResult& r) {
    ASSERT_TRUE(r.ok()) << (!r.ok() ? r.error().message : "");
    EXPECT_EQ(*r, history_.current());
  }

  RoutingHistory history_;
  TransitionContext ctx_;
};

TEST_F(RolloutTransitionsTest, StartEntersStepOneWithItsWeightPauseAndCause) {
  const RoutingState& s = accept(start_rollout(history_, contract_plan(), "replica-a", ctx_));
  EXPECT_EQ(s.revision, 2u);
  EXPECT_EQ(s.canary_weight, 500u);
  EXPECT_EQ(s.cause, "rollout step 1/4: weight 5");
  EXPECT_EQ(record().phase, RolloutPhase::Progressing);
  EXPECT_EQ(record().step, 1u);
  EXPECT_EQ(record().pause_until, at(100) + 2min);
  EXPECT_EQ(record().driver, "replica-a");
  EXPECT_EQ(record().started_revision, 2u);
}

TEST_F(RolloutTransitionsTest, StartIsRefusedWhileOneRunsWithoutCanaryOrHealthyCanaryOrWithABadPlan) {
  accept(start_rollout(history_, contract_plan(), "a", ctx_));
  EXPECT_EQ(refused(start_rollout(history_, contract_plan(), "a", ctx_)).kind, TransitionError::Kind::Conflict);

  RoutingHistory fresh(initial(), 10);
  canary_down();
  EXPECT_EQ(refused(start_rollout(fresh, contract_plan(), "a", ctx_)).message,
            "the canary set has no healthy endpoint: a rollout cannot start");
  RoutingState no_canary = initial();
  no_canary.canary.reset();
  EXPECT_EQ(refused(start_rollout(RoutingHistory(no_canary, 10), contract_plan(), "a", ctx_)).kind,
            TransitionError::Kind::Conflict);
  EXPECT_EQ(refused(start_rollout(fresh, config::RolloutPlan{}, "a", ctx_)).kind,
            TransitionError::Kind::InvalidArgument);
}

TEST_F(RolloutTransitionsTest, WalksEveryStepToThePromoteAndCompletes) {
  accept(start_rollout(history_, contract_plan(), "a", ctx_));
  ctx_.now += 2min;
  const RoutingState& two = accept(advance_rollout(history_, 1, "a", ctx_));
  EXPECT_EQ(two.canary_weight, 2500u);
  EXPECT_EQ(two.cause, "rollout step 2/4: weight 25");
  EXPECT_EQ(record().phase, RolloutPhase::Paused);  // a manual pause
  EXPECT_FALSE(record().pause_until);
  // A paused rollout does not move on its own.
  expect_same(advance_rollout(history_, 2, "a", ctx_));
  accept(resume_rollout(history_, ctx_));
  EXPECT_EQ(record().pause_until, ctx_.now);
  const RoutingState& three = accept(advance_rollout(history_, 2, "a", ctx_));
  EXPECT_EQ(three.canary_weight, 5000u);
  EXPECT_EQ(record().pause_until, ctx_.now + 5min);
  ctx_.now += 5min;
  const RoutingState& done = accept(advance_rollout(history_, 3, "a", ctx_));
  EXPECT_EQ(done.cause, "rollout step 4/4: promote");
  EXPECT_EQ(done.stable, sel("version=v2"));
  EXPECT_FALSE(done.canary);
  EXPECT_EQ(record().phase, RolloutPhase::Completed);
  EXPECT_EQ(record().step, 4u);
}

TEST_F(RolloutTransitionsTest, APlanWithoutPromotePromotesAfterItsLastStep) {
  accept(start_rollout(history_, {{weight_step(1000)}, std::nullopt}, "a", ctx_));
  const RoutingState& done = accept(advance_rollout(history_, 1, "a", ctx_));
  EXPECT_EQ(done.cause, "rollout completed after step 1/1: promote");
  EXPECT_EQ(record().phase, RolloutPhase::Completed);
  EXPECT_EQ(done.stable, sel("version=v2"));
}

TEST_F(RolloutTransitionsTest, AdvanceFromAStepAlreadyLeftChangesNothing) {
  accept(start_rollout(history_, contract_plan(), "a", ctx_));
  accept(advance_rollout(history_, 1, "a", ctx_));
  // The second replica's write, recomputed on the newer history: step 1 is gone.
  expect_same(advance_rollout(history_, 1, "b", ctx_));
  EXPECT_EQ(record().driver, "a");
}

TEST_F(RolloutTransitionsTest, StepsNeverMoveWhileTheCanaryHasNoHealthyEndpoint) {
  accept(start_rollout(history_, contract_plan(), "a", ctx_));
  canary_down();
  EXPECT_EQ(refused(advance_rollout(history_, 1, "a", ctx_)).message,
            "the canary set has no healthy endpoint: the rollout holds at step 1/4");
  EXPECT_EQ(refused(promote_rollout(history_, ctx_)).kind, TransitionError::Kind::Conflict);
}

TEST_F(RolloutTransitionsTest, PauseKeepsTheTimeLeftAndResumeRestartsTheClockWithIt) {
  accept(start_rollout(history_, contract_plan(), "a", ctx_));
  ctx_.now += 30s;
  accept(pause_rollout(history_, ctx_));
  EXPECT_EQ(record().phase, RolloutPhase::Paused);
  EXPECT_EQ(record().pause_left, std::chrono::milliseconds(90s));
  EXPECT_FALSE(record().pause_until);
  expect_same(pause_rollout(history_, ctx_));
  ctx_.now += 1h;
  accept(resume_rollout(history_, ctx_));
  EXPECT_EQ(record().phase, RolloutPhase::Progressing);
  EXPECT_EQ(record().pause_until, ctx_.now + 90s);
  expect_same(resume_rollout(history_, ctx_));
}

TEST_F(RolloutTransitionsTest, AbortRollsBackToZeroAndKeepsTheReason) {
  accept(start_rollout(history_, contract_plan(), "a", ctx_));
  const RoutingState& s = accept(abort_rollout(history_, "canary error rate 19.8 % > 1 % (240 requests)", ctx_));
  EXPECT_EQ(s.canary_weight, 0u);
  EXPECT_TRUE(s.aborted);
  EXPECT_EQ(s.cause, "rollout aborted: canary error rate 19.8 % > 1 % (240 requests)");
  EXPECT_EQ(record().phase, RolloutPhase::Aborted);
  EXPECT_EQ(record().reason, "canary error rate 19.8 % > 1 % (240 requests)");
  expect_same(abort_rollout(history_, "again", ctx_));
  // Finished: nothing to pause or promote; a manual weight is allowed again and clears the abort.
  EXPECT_EQ(refused(pause_rollout(history_, ctx_)).kind, TransitionError::Kind::Conflict);
  EXPECT_FALSE(accept(set_weight(history_, 0, ctx_)).aborted);
}

TEST_F(RolloutTransitionsTest, ManualChangesAreRefusedWhileARolloutRunsRollbackAndPromoteEndIt) {
  accept(start_rollout(history_, contract_plan(), "a", ctx_));
  EXPECT_EQ(refused(set_weight(history_, 3000, ctx_)).kind, TransitionError::Kind::Conflict);
  EXPECT_EQ(refused(undo(history_, std::nullopt, ctx_)).kind, TransitionError::Kind::Conflict);
  EXPECT_EQ(refused(remove_canary(history_, ctx_)).kind, TransitionError::Kind::Conflict);
  EXPECT_EQ(refused(define_canary(history_, sel("version=v3"), 0, ctx_)).kind, TransitionError::Kind::Conflict);
  ctx_.cause = "pager";
  accept(rollback(history_, ctx_));
  EXPECT_EQ(record().phase, RolloutPhase::Aborted);
  EXPECT_EQ(record().reason, "rolled back: pager");

  ctx_.cause.clear();
  accept(set_weight(history_, 0, ctx_));
  accept(start_rollout(history_, contract_plan(), "a", ctx_));
  const RoutingState& promoted = accept(promote(history_, ctx_));
  EXPECT_EQ(promoted.stable, sel("version=v2"));
  EXPECT_EQ(record().phase, RolloutPhase::Completed);
}

TEST_F(RolloutTransitionsTest, PromoteEarlySkipsTheRestBehindTheGate) {
  accept(start_rollout(history_, contract_plan(), "a", ctx_));
  const RoutingState& s = accept(promote_rollout(history_, ctx_));
  EXPECT_EQ(s.stable, sel("version=v2"));
  EXPECT_EQ(s.cause, "rollout promoted early at step 1/4");
  EXPECT_EQ(record().phase, RolloutPhase::Completed);
  EXPECT_EQ(refused(promote_rollout(history_, ctx_)).message, "no rollout is in progress");
}

TEST_F(RolloutTransitionsTest, UndoAfterARolloutKeepsTheFinishedRecordNotAnOldOne) {
  accept(start_rollout(history_, contract_plan(), "a", ctx_));
  accept(abort_rollout(history_, "bad", ctx_));
  accept(undo(history_, 2, ctx_));  // back to step 1's weight, but not into a running rollout
  EXPECT_EQ(history_.current().canary_weight, 500u);
  EXPECT_EQ(record().phase, RolloutPhase::Aborted);
}

}  // namespace
}  // namespace canaryd::weights
