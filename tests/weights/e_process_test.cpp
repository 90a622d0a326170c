// The e-processes' arithmetic on small hand-computed cases, their expectation under the null, and
// log space keeping huge evidence finite.
#include "weights/e_process.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <iterator>
#include <vector>

namespace canaryd::weights {
namespace {

TEST(EProcessTest, ScaleOddsIsTheEventShare) {
  EXPECT_DOUBLE_EQ(scale_odds(0.1, 1), 0.1);
  EXPECT_DOUBLE_EQ(scale_odds(0.1, 2), 0.2 / 1.1);  // canary 2x worse at 10 %: 2/11 of the errors
  EXPECT_DOUBLE_EQ(scale_odds(0.5, 3), 0.75);
  EXPECT_DOUBLE_EQ(scale_odds(0.01, 30), 0.3 / 1.29);
  EXPECT_LT(scale_odds(0.9, 1000), 1.0);
}

TEST(EProcessTest, OneAlternativeIsTheLikelihoodRatio) {
  MixtureEProcess e(1);
  EXPECT_DOUBLE_EQ(e.log_value(), 0.0);
  const double alt[] = {0.75};
  e.observe(3, 1, 0.5, alt);  // 0.75/0.5 * (0.25/0.5)^2
  EXPECT_NEAR(e.log_value(), std::log(1.5 * 0.25), 1e-12);
  e.observe(1, 1, 0.25, alt);  // p0 may change between batches: * 0.75/0.25
  EXPECT_NEAR(e.log_value(), std::log(1.5 * 0.25 * 3), 1e-12);
}

TEST(EProcessTest, TheMixtureIsTheMeanOfTheProducts) {
  MixtureEProcess e(2);
  const double alt[] = {0.2, 0.4};
  e.observe(2, 1, 0.1, alt);
  const double first = (0.2 / 0.1) * (0.8 / 0.9);
  const double second = (0.4 / 0.1) * (0.6 / 0.9);
  EXPECT_NEAR(e.log_value(), std::log((first + second) / 2), 1e-12);
}

TEST(EProcessTest, NoInformationLeavesItUnchanged) {
  MixtureEProcess e(1);
  const double alt[] = {0.5};
  e.observe(0, 0, 0.1, alt);
  e.observe(5, 2, 0.0, alt);  // all the traffic on stable: an error says nothing
  e.observe(5, 5, 1.0, alt);
  EXPECT_DOUBLE_EQ(e.log_value(), 0.0);
}

// Under the null boundary each factor has expectation exactly 1; below it, less (one-sided null).
double expected_factor(double p_true, double p0, double p1, unsigned n) {
  double sum = 0;
  for (unsigned x = 0; x <= n; ++x) {
    MixtureEProcess e(1);
    const double alt[] = {p1};
    e.observe(n, x, p0, alt);
    const double pmf = std::exp(std::lgamma(n + 1.0) - std::lgamma(x + 1.0) - std::lgamma(n - x + 1.0)) *
                       std::pow(p_true, x) * std::pow(1 - p_true, n - x);
    sum += pmf * std::exp(e.log_value());
  }
  return sum;
}

TEST(EProcessTest, AFactorsExpectationIsAtMostOneUnderTheNull) {
  EXPECT_NEAR(expected_factor(0.2, 0.2, 0.6, 5), 1.0, 1e-12);
  EXPECT_NEAR(expected_factor(0.01, 0.01, scale_odds(0.01, 30), 40), 1.0, 1e-9);
  EXPECT_LT(expected_factor(0.1, 0.2, 0.6, 5), 1.0);
  EXPECT_GT(expected_factor(0.5, 0.2, 0.6, 5), 1.0);  // and it grows under the alternative
}

TEST(EProcessTest, HugeEvidenceStaysFinite) {
  MixtureEProcess e(2);
  const double alt[] = {0.5, 0.9};
  e.observe(1'000'000, 1'000'000, 0.01, alt);
  EXPECT_TRUE(std::isfinite(e.log_value()));
  EXPECT_NEAR(e.log_value(), 1e6 * std::log(90.0) - std::log(2.0), 1e-3 * 1e6);
  MixtureEProcess against(1);
  const double one[] = {0.5};
  against.observe(1'000'000, 0, 0.01, one);
  EXPECT_TRUE(std::isfinite(against.log_value()));
  EXPECT_LT(against.log_value(), -1e5);
}

TEST(EProcessTest, ShareJudgeConditionsOnTheEvents) {
  // 10 % of the requests went to canary; one error, the canary's. Null ratio 1: q0 = 0.1.
  ShareJudge judge(1.0);
  judge.observe(9, 1, 0, 1);
  double mean = 0;
  for (const double m : kAlternativeMultipliers) mean += scale_odds(0.1, m) / 0.1;
  mean /= static_cast<double>(std::size(kAlternativeMultipliers));
  EXPECT_NEAR(judge.log_value(), std::log(mean), 1e-12);
}

TEST(EProcessTest, ShareJudgeNullRatioShiftsBoth) {
  // Null ratio 2 at share 0.5: q0 = 2/3; a stable error scores (1 - p_k) / (1/3) with p_k at ratio 2m.
  ShareJudge judge(2.0);
  judge.observe(5, 5, 1, 0);
  double mean = 0;
  for (const double m : kAlternativeMultipliers) mean += (1 - scale_odds(0.5, 2 * m)) / (1.0 / 3);
  mean /= static_cast<double>(std::size(kAlternativeMultipliers));
  EXPECT_NEAR(judge.log_value(), std::log(mean), 1e-12);
}

TEST(EProcessTest, RateJudgeTestsTheCanaryRateAgainstTheLimit) {
  RateJudge judge(0.01);
  judge.observe(10, 1);
  double mean = 0;
  for (const double m : kAlternativeMultipliers) {
    const double p = scale_odds(0.01, m);
    mean += (p / 0.01) * std::pow((1 - p) / 0.99, 9);
  }
  mean /= static_cast<double>(std::size(kAlternativeMultipliers));
  EXPECT_NEAR(judge.log_value(), std::log(mean), 1e-12);
}

}  // namespace
}  // namespace canaryd::weights
