// Unit tests of `canaryctl wait`'s decision on one poll: completed, aborted, none, still going; healthy
// sets, a set without a healthy endpoint, an aborted canary.
#include "ctl/wait_decision.hpp"

#include <gtest/gtest.h>

namespace canaryd::ctl {
namespace {

RolloutView rollout(std::string_view json) { return parse_rollout(json).value(); }
StatusView status(std::string_view json) { return parse_status(json).value(); }

TEST(WaitCompletedTest, CompletedIsReached) {
  const auto d = decide_completed(rollout(R"({"phase": "completed", "step": 4, "steps": 4, "reason": "promoted"})"));
  EXPECT_EQ(d.outcome, WaitOutcome::Reached);
  EXPECT_EQ(d.message, "rollout completed: promoted");
}

TEST(WaitCompletedTest, AbortedAndNoneFailAtOnce) {
  auto d = decide_completed(rollout(
      R"j({"phase": "aborted", "step": 2, "steps": 4, "reason": "canary error rate 19.8 % > 1 % (240 requests)"})j"));
  EXPECT_EQ(d.outcome, WaitOutcome::Failed);
  EXPECT_EQ(d.message, "rollout aborted at step 2/4: canary error rate 19.8 % > 1 % (240 requests)");
  d = decide_completed(rollout(R"({"phase": "none"})"));
  EXPECT_EQ(d.outcome, WaitOutcome::Failed);
  EXPECT_EQ(d.message, "no rollout to wait for (start one with `canaryctl rollout start`)");
}

TEST(WaitCompletedTest, ProgressingAndPausedArePending) {
  auto d = decide_completed(rollout(R"({"phase": "progressing", "step": 1, "steps": 3})"));
  EXPECT_EQ(d.outcome, WaitOutcome::Pending);
  EXPECT_EQ(d.message, "rollout progressing at step 1/3");
  d = decide_completed(rollout(R"({"phase": "paused", "step": 2, "steps": 3, "reason": "manual pause"})"));
  EXPECT_EQ(d.outcome, WaitOutcome::Pending);
  EXPECT_EQ(d.message, "rollout paused at step 2/3 (manual pause)");
}

constexpr std::string_view kHealthy = R"({"revision": 3, "canary_weight": 10, "aborted": false,
  "stable": {"selector": "v=1", "endpoints": [{"address": "a:1", "healthy": true}, {"address": "a:2", "healthy": false}]},
  "canary": {"selector": "v=2", "endpoints": [{"address": "b:1", "healthy": true}]}})";

TEST(WaitHealthyTest, BothSetsWithAHealthyEndpointIsReached) {
  const auto d = decide_healthy(status(kHealthy));
  EXPECT_EQ(d.outcome, WaitOutcome::Reached);
  EXPECT_EQ(d.message, "healthy: stable 1/2 endpoints healthy, canary 1/1 endpoints healthy");
  const auto no_canary = decide_healthy(status(R"({"revision": 1, "canary_weight": 0, "canary": null,
    "stable": {"selector": "v=1", "endpoints": [{"address": "a:1", "healthy": true}]}})"));
  EXPECT_EQ(no_canary.outcome, WaitOutcome::Reached);
}

TEST(WaitHealthyTest, ASetWithoutAHealthyEndpointIsPending) {
  std::string down(kHealthy);
  down.replace(down.find(R"("b:1", "healthy": true)"), 22, R"("b:1", "healthy": false)");
  auto d = decide_healthy(status(down));
  EXPECT_EQ(d.outcome, WaitOutcome::Pending);
  EXPECT_EQ(d.message, "canary has no healthy endpoint (stable 1/2 endpoints healthy, canary 0/1 endpoints healthy)");
  d = decide_healthy(status(R"({"revision": 1, "canary_weight": 0, "canary": null,
    "stable": {"selector": "v=1", "endpoints": []}})"));
  EXPECT_EQ(d.outcome, WaitOutcome::Pending);
  EXPECT_EQ(d.message, "stable has no healthy endpoint (stable 0/0 endpoints healthy)");
}

TEST(WaitHealthyTest, AnAbortedCanaryFailsAtOnce) {
  std::string aborted(kHealthy);
  aborted.replace(aborted.find(R"("aborted": false)"), 16, R"("aborted": true)");
  const auto d = decide_healthy(status(aborted));
  EXPECT_EQ(d.outcome, WaitOutcome::Failed);
  EXPECT_EQ(d.message, "the canary is aborted: it serves nothing until a weight is set again");
}

}  // namespace
}  // namespace canaryd::ctl
