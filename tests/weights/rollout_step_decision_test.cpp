// Unit tests of the driver's step decision with a fake clock: the pause, the healthy canary, the
// analysis's verdict (low traffic is never a pass), and the driver with its takeover.
#include "weights/rollout_step_decision.hpp"

#include <gtest/gtest.h>

#include "tests/weights/test_support.hpp"
#include "weights/rollout_transitions.hpp"

namespace canaryd::weights {
namespace {

using namespace std::chrono_literals;
using test_support::at;

RolloutRecord record(bool with_analysis) {
  RolloutRecord r;
  config::RolloutStep step;
  step.weight = 1000;
  step.pause = config::PauseKind::Timed;
  step.pause_for = 60s;
  r.plan.steps = {step, step};
  if (with_analysis) r.plan.analysis = config::AnalysisSettings{};
  r.step = 1;
  r.pause_until = at(60);
  r.driver = "a";
  return r;
}

Verdict verdict(VerdictKind kind, std::uint64_t canary_requests) {
  Verdict v;
  v.kind = kind;
  v.canary.requests = canary_requests;
  return v;
}

TEST(RolloutStepDecisionTest, MovesOnlyOnceThePauseIsOver) {
  EXPECT_FALSE(decide_step(record(false), at(59), std::nullopt, true, "a").advance);
  EXPECT_EQ(decide_step(record(false), at(59), std::nullopt, true, "a").holding, "");
  EXPECT_TRUE(decide_step(record(false), at(60), std::nullopt, true, "a").advance);
}

TEST(RolloutStepDecisionTest, NeverMovesWhilePausedOrWithoutAHealthyCanary) {
  RolloutRecord paused = record(false);
  paused.phase = RolloutPhase::Paused;
  EXPECT_FALSE(decide_step(paused, at(600), std::nullopt, true, "a").advance);
  const StepDecision down = decide_step(record(false), at(600), std::nullopt, false, "a");
  EXPECT_FALSE(down.advance);
  EXPECT_EQ(down.holding, "holding at step 1/2: the canary set has no healthy endpoint");
}

TEST(RolloutStepDecisionTest, WithAnalysisLowTrafficIsNeverAPass) {
  const RolloutRecord r = record(true);
  EXPECT_EQ(decide_step(r, at(61), std::nullopt, true, "a").holding,
            "holding at step 1/2: waiting for the analysis's first check");
  const StepDecision low = decide_step(r, at(61), verdict(VerdictKind::inconclusive, 12), true, "a");
  EXPECT_FALSE(low.advance);
  EXPECT_EQ(low.holding,
            "holding at step 1/2: 12 of 50 canary requests in the analysis window (low traffic is never a pass)");
  EXPECT_FALSE(decide_step(r, at(61), verdict(VerdictKind::fail, 500), true, "a").advance);
  EXPECT_TRUE(decide_step(r, at(61), verdict(VerdictKind::pass, 500), true, "a").advance);
}

TEST(RolloutStepDecisionTest, AnotherReplicaTakesOverOnlyWhenTheDriverIsOverdue) {
  const RolloutRecord r = record(false);
  const StepDecision waiting = decide_step(r, at(60) + kDriverTakeover - 1s, std::nullopt, true, "b");
  EXPECT_FALSE(waiting.advance);
  EXPECT_EQ(waiting.holding, "holding at step 1/2: replica a drives this rollout");
  EXPECT_TRUE(decide_step(r, at(60) + kDriverTakeover, std::nullopt, true, "b").advance);
}

}  // namespace
}  // namespace canaryd::weights
