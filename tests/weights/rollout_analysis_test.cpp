// The rollout analysis's verdicts: settings checked, low traffic never a pass, a figure over its
// limit failing only with evidence, failure_limit, the judge and the guard aborting on their own.
#include "weights/rollout_analysis.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace canaryd::weights {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

RolloutAnalysis analysis(AnalysisSettings settings = {}) { return RolloutAnalysis::create(settings).value(); }

SetEvidence set(std::uint64_t requests, std::uint64_t errors, std::uint64_t latency_micros = 10'000) {
  SetEvidence e;
  e.requests = requests;
  e.errors = errors;
  e.latency.counts[latency_bucket(latency_micros)] = requests;
  return e;
}

EvidenceInterval interval(seconds end, SetEvidence stable, SetEvidence canary) {
  return {end, 1000, std::move(stable), std::move(canary)};
}

TEST(RolloutAnalysisTest, SettingsAreChecked) {
  EXPECT_TRUE(validate(AnalysisSettings{}));
  AnalysisSettings bad;
  bad.alpha = 0;
  const auto created = RolloutAnalysis::create(bad);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().message, "analysis.alpha: must be between 0 and 1 (exclusive)");
  bad = {};
  bad.window = milliseconds(5000);
  EXPECT_EQ(validate(bad).error().message, "analysis.window: must be at least analysis.interval");
  bad = {};
  bad.max_error_rate = 100;
  EXPECT_FALSE(validate(bad));
  bad = {};
  bad.failure_limit = 0;
  EXPECT_FALSE(validate(bad));
}

TEST(RolloutAnalysisTest, LowTrafficIsNeverAPass) {
  auto a = analysis();
  a.observe(interval(seconds(10), set(100, 0), set(4, 0)));
  const Verdict v = a.check(seconds(10));
  EXPECT_EQ(v.kind, VerdictKind::inconclusive);
  EXPECT_FALSE(v.abort);
  EXPECT_EQ(v.reason, "4 canary requests in the last 1m, fewer than min_requests 50");
  EXPECT_EQ(v.canary.requests, 4u);
  EXPECT_EQ(v.stable.requests, 100u);
  EXPECT_EQ(a.check(seconds(600)).canary.requests, 0u);  // the window moved on
}

TEST(RolloutAnalysisTest, HealthyWindowPassesWithItsFigures) {
  auto a = analysis();
  a.observe(interval(seconds(10), set(540, 3), set(60, 0)));
  const Verdict v = a.check(seconds(10));
  EXPECT_EQ(v.kind, VerdictKind::pass);
  EXPECT_EQ(v.failures, 0u);
  EXPECT_EQ(v.reason, "canary error rate 0 % <= 1 %, p99 within 1.5 x stable (60 requests)");
  EXPECT_EQ(v.canary.requests, 60u);
  EXPECT_DOUBLE_EQ(v.canary.error_rate, 0.0);
  EXPECT_DOUBLE_EQ(v.stable.error_rate, 100.0 * 3 / 540);
  EXPECT_DOUBLE_EQ(*v.canary.p99_ms, 10.24);
}

TEST(RolloutAnalysisTest, OverTheLimitWithoutEvidenceHoldsTheStep) {
  auto a = analysis();
  a.observe(interval(seconds(10), set(540, 9), set(60, 1)));  // 1.67 %, both sets alike
  const Verdict v = a.check(seconds(10));
  EXPECT_EQ(v.kind, VerdictKind::inconclusive);
  EXPECT_EQ(v.failures, 0u);
  EXPECT_EQ(v.reason, "canary error rate 1.67 % > 1 % (60 requests), not significant yet");
}

TEST(RolloutAnalysisTest, ThresholdCheckAbortsAfterFailureLimitConsecutiveFailures) {
  auto a = analysis();
  // Stable as bad as canary: the ratio judge sees nothing, the absolute limit does.
  a.observe(interval(seconds(10), set(960, 192), set(240, 48)));
  Verdict v = a.check(seconds(10));
  EXPECT_EQ(v.kind, VerdictKind::fail);
  EXPECT_FALSE(v.abort);
  EXPECT_EQ(v.failures, 1u);
  EXPECT_EQ(v.reason, "canary error rate 20 % > 1 % (240 requests)");
  EXPECT_FALSE(a.abort_reason());
  a.observe(interval(seconds(20), set(960, 192), set(240, 48)));
  v = a.check(seconds(20));
  EXPECT_TRUE(v.abort);
  EXPECT_EQ(v.failures, 2u);
  EXPECT_EQ(v.reason, "canary error rate 20 % > 1 % (480 requests)");
  EXPECT_EQ(a.abort_reason(), v.reason);
  EXPECT_TRUE(a.check(seconds(30)).abort);  // it stays aborted
}

TEST(RolloutAnalysisTest, APassResetsTheFailures) {
  AnalysisSettings settings;
  settings.window = seconds(10);
  auto a = analysis(settings);
  a.observe(interval(seconds(10), set(960, 192), set(240, 48)));
  EXPECT_EQ(a.check(seconds(10)).failures, 1u);
  a.observe(interval(seconds(20), set(960, 0), set(240, 0)));
  const Verdict v = a.check(seconds(20));
  EXPECT_EQ(v.kind, VerdictKind::pass);
  EXPECT_EQ(v.failures, 0u);
}

TEST(RolloutAnalysisTest, TheJudgeAbortsOnItsOwnBelowMinRequests) {
  auto a = analysis();
  int second = 0;
  while (!a.abort_reason() && second < 60) {
    ++second;
    a.observe(interval(seconds(second), set(45, 0), set(5, 1)));  // weight 10 %, canary 20 % errors
  }
  // After n canary errors and no stable one the judge is mean_k (p_k / q0)^n: it passes 2/alpha = 200
  // at n = 5 (the 30x alternative alone gives 4.78^5 / 6 = 416).
  EXPECT_EQ(second, 5);
  EXPECT_EQ(*a.abort_reason(), "canary error rate 20 % > 2 x stable 0 % (25 requests)");
  const Verdict v = a.check(seconds(5));
  EXPECT_EQ(v.kind, VerdictKind::fail);
  EXPECT_TRUE(v.abort);
}

TEST(RolloutAnalysisTest, TheGuardAbortsACatastropheAtOnce) {
  auto a = analysis();
  a.observe(interval(seconds(1), set(20, 10), set(20, 10)));  // alike: no judge, but half of them fail
  ASSERT_TRUE(a.abort_reason());
  EXPECT_EQ(*a.abort_reason(), "canary error rate 50 % >= 50 % (20 requests)");
}

TEST(RolloutAnalysisTest, ASlowCanaryFailsTheP99Check) {
  auto a = analysis();
  Verdict v;
  for (int i = 1; i <= 6 && !v.abort; ++i) {
    SetEvidence stable = set(1000, 0);
    stable.latency.counts[latency_bucket(10'000)] = 990;
    stable.latency.counts[latency_bucket(11'000)] = 10;
    SetEvidence canary = set(100, 0);
    canary.latency.counts[latency_bucket(10'000)] = 90;
    canary.latency.counts[latency_bucket(40'000)] = 10;
    a.observe(interval(seconds(10 * i), stable, canary));
    v = a.check(seconds(10 * i));
  }
  EXPECT_TRUE(v.abort);
  EXPECT_EQ(v.reason.rfind("canary p99 41 ms > 1.5 x stable p99 10.2 ms (", 0), 0u) << v.reason;
  EXPECT_GE(a.log_evidence(), std::log(100.0));
}

TEST(RolloutAnalysisTest, EqualLatenciesScoreNoSlowEvidence) {
  auto a = analysis();
  for (int i = 1; i <= 30; ++i) a.observe(interval(seconds(i), set(900, 0, 10'000), set(100, 0, 10'000)));
  EXPECT_LE(a.log_evidence(), 0.0);
  EXPECT_EQ(a.check(seconds(30)).kind, VerdictKind::pass);
}

}  // namespace
}  // namespace canaryd::weights
