// Unit tests of the config's `rollout:` map (contract section 7): a good plan with every kind of step,
// analysis defaults, and each problem reported with its field path (`rollout.steps[2].pause: ...`).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.hpp"

namespace canaryd::config {
namespace {

using std::chrono::milliseconds;

constexpr const char* kMinimal = R"(
listen:
  - address: 127.0.0.1:0
service:
  stable: {version: v1}
  canary: {version: v2}
)";

std::vector<std::string> errors_of(const std::string& rollout) {
  const LoadResult r = load_config_text(std::string(kMinimal) + rollout, "x.yaml");
  return r ? std::vector<std::string>{} : r.error();
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "\n  " + l;
  return out;
}

void expect_single_error(const std::string& rollout, const std::string& line) {
  const auto errors = errors_of(rollout);
  ASSERT_EQ(errors.size(), 1u) << join(errors);
  EXPECT_EQ(errors[0].substr(0, line.size()), line) << errors[0];
}

std::optional<RolloutPlan> plan_of(const std::string& rollout) {
  const LoadResult r = load_config_text(std::string(kMinimal) + rollout, "x.yaml");
  EXPECT_TRUE(r.ok()) << join(r ? std::vector<std::string>{} : r.error());
  return r ? r->rollout : std::nullopt;
}

TEST(RolloutLoaderTest, NoRolloutKeyMeansNoPlan) {
  EXPECT_FALSE(plan_of("").has_value());
  EXPECT_FALSE(plan_of("rollout:\n").has_value());  // every key commented out
}

TEST(RolloutLoaderTest, TheContractsPlanReadsAsWritten) {
  const auto plan = plan_of(R"(
rollout:
  steps:
    - {weight: 5, pause: 2m}
    - {weight: 25, pause: manual}
    - {weight: 33.33}
    - pause: 90s
    - {weight: 50, pause: 5m}
    - {promote: true}
  analysis:
    interval: 10s
    window: 1m
    min_requests: 50
    max_error_rate: 1
    max_error_ratio: 2
    alpha: 0.01
    max_p99_ratio: 1.5
    failure_limit: 2
)");
  ASSERT_TRUE(plan.has_value());
  ASSERT_EQ(plan->steps.size(), 6u);
  EXPECT_EQ(plan->steps[0], (RolloutStep{500, PauseKind::Timed, milliseconds(120'000), false}));
  EXPECT_EQ(plan->steps[1], (RolloutStep{2500, PauseKind::Manual, milliseconds(0), false}));
  EXPECT_EQ(plan->steps[2], (RolloutStep{3333, PauseKind::None, milliseconds(0), false}));
  EXPECT_EQ(plan->steps[3], (RolloutStep{std::nullopt, PauseKind::Timed, milliseconds(90'000), false}));
  EXPECT_EQ(plan->steps[4], (RolloutStep{5000, PauseKind::Timed, milliseconds(300'000), false}));
  EXPECT_EQ(plan->steps[5], (RolloutStep{std::nullopt, PauseKind::None, milliseconds(0), true}));
  // The contract's values are the defaults.
  ASSERT_TRUE(plan->analysis.has_value());
  EXPECT_EQ(*plan->analysis, AnalysisSettings{});
}

TEST(RolloutLoaderTest, AnalysisKeysLeftOutKeepTheirDefaults) {
  auto plan = plan_of("rollout:\n  steps: [{weight: 10}]\n  analysis: {alpha: 0.001, min_requests: 20}\n");
  ASSERT_TRUE(plan && plan->analysis);
  AnalysisSettings expected;
  expected.alpha = 0.001;
  expected.min_requests = 20;
  EXPECT_EQ(*plan->analysis, expected);

  plan = plan_of("rollout:\n  steps: [{weight: 10}]\n  analysis:\n");  // every key commented out
  ASSERT_TRUE(plan && plan->analysis);
  EXPECT_EQ(*plan->analysis, AnalysisSettings{});

  plan = plan_of("rollout:\n  steps: [{weight: 10}]\n");
  ASSERT_TRUE(plan.has_value());
  EXPECT_FALSE(plan->analysis.has_value());  // no analysis: steps advance on their pauses alone
}

TEST(RolloutLoaderTest, EveryAnalysisKeyIsRead) {
  const auto plan = plan_of(R"(
rollout:
  steps: [{weight: 10, pause: 1m}]
  analysis: {interval: 5s, window: 30s, min_requests: 7, max_error_rate: 2.5, max_error_ratio: 3,
             alpha: 1e-3, max_p99_ratio: 2, failure_limit: 4}
)");
  ASSERT_TRUE(plan && plan->analysis);
  const AnalysisSettings& a = *plan->analysis;
  EXPECT_EQ(a.interval, milliseconds(5000));
  EXPECT_EQ(a.window, milliseconds(30'000));
  EXPECT_EQ(a.min_requests, 7u);
  EXPECT_EQ(a.max_error_rate, 2.5);
  EXPECT_EQ(a.max_error_ratio, 3);
  EXPECT_EQ(a.alpha, 0.001);
  EXPECT_EQ(a.max_p99_ratio, 2);
  EXPECT_EQ(a.failure_limit, 4u);
}

TEST(RolloutLoaderTest, StepFieldErrorsNameTheStep) {
  expect_single_error("rollout:\n  steps: [{weight: 5}, {weight: 5, pause: 2m}, {weight: 50, pause: soon}]\n",
                      "x.yaml: rollout.steps[2].pause: must be a duration such as 2m, or manual, got soon");
  expect_single_error("rollout:\n  steps: [{weight: 5, pause: 0s}]\n",
                      "x.yaml: rollout.steps[0].pause: must be a duration such as 2m, or manual, got 0s");
  expect_single_error("rollout:\n  steps: [{weight: 5, pause: [1m]}]\n",
                      "x.yaml: rollout.steps[0].pause: must be a duration such as 2m, or manual, got a list");
  // The weight rule of service.canary_weight: by the text, never rounded.
  expect_single_error("rollout:\n  steps: [{weight: 10.125}]\n", "x.yaml: rollout.steps[0].weight: ");
  expect_single_error("rollout:\n  steps: [{weight: 101}]\n", "x.yaml: rollout.steps[0].weight: ");
  expect_single_error("rollout:\n  steps: [{weight: \"10\"}]\n",
                      "x.yaml: rollout.steps[0].weight: must be a number from 0 to 100");
  expect_single_error("rollout:\n  steps: [{weight: 5}, {promote: false}]\n",
                      "x.yaml: rollout.steps[1].promote: must be true");
  expect_single_error("rollout:\n  steps: [{weight: 5}, {promote: yes}]\n",
                      "x.yaml: rollout.steps[1].promote: must be true or false");
  expect_single_error("rollout:\n  steps: [{weight: 5, wait: 2m}]\n", "x.yaml: rollout.steps[0].wait: unknown key");
  expect_single_error("rollout:\n  steps: [{weight: 5, weight: 6}]\n", "x.yaml: rollout.steps[0].weight: duplicate key");
  expect_single_error("rollout:\n  steps: [5]\n", "x.yaml: rollout.steps[0]: must be a map");
  expect_single_error("rollout:\n  steps: {weight: 5}\n", "x.yaml: rollout.steps: must be a list of steps");
}

TEST(RolloutLoaderTest, EveryFieldProblemIsReported) {
  const auto errors = errors_of(
      "rollout:\n  steps: [{weight: 101}, {pause: later}]\n  analysis: {alpha: high, failure_limit: 0}\n");
  ASSERT_EQ(errors.size(), 4u) << join(errors);
  EXPECT_EQ(errors[0].rfind("x.yaml: rollout.steps[0].weight: ", 0), 0u) << errors[0];
  EXPECT_EQ(errors[1].rfind("x.yaml: rollout.steps[1].pause: ", 0), 0u) << errors[1];
  EXPECT_EQ(errors[2], "x.yaml: rollout.analysis.alpha: must be a number, got high");
  EXPECT_EQ(errors[3], "x.yaml: rollout.analysis.failure_limit: must be an integer from 1 to 1000, got 0");
}

TEST(RolloutLoaderTest, SectionShapeErrors) {
  expect_single_error("rollout: [1]\n", "x.yaml: rollout: must be a map {steps: [...], analysis: {...}}, got a list");
  expect_single_error("rollout:\n  analysis: {}\n", "x.yaml: rollout.steps: required");
  expect_single_error("rollout:\n  steps: [{weight: 5}]\n  stepz: []\n", "x.yaml: rollout.stepz: unknown key");
  expect_single_error("rollout:\n  steps: [{weight: 5}]\n  analysis: 5\n",
                      "x.yaml: rollout.analysis: must be a map {interval, window, min_requests, max_error_rate, ...}");
  expect_single_error("rollout:\n  steps: [{weight: 5}]\n  analysis: {alpha: 0.01, beta: 1}\n",
                      "x.yaml: rollout.analysis.beta: unknown key");
}

TEST(RolloutLoaderTest, AnalysisFieldErrors) {
  const std::string head = "rollout:\n  steps: [{weight: 5}]\n  analysis: ";
  expect_single_error(head + "{interval: 0s}\n", "x.yaml: rollout.analysis.interval: must be greater than 0");
  expect_single_error(head + "{window: 1 minute}\n", "x.yaml: rollout.analysis.window: invalid duration");
  expect_single_error(head + "{min_requests: 0}\n",
                      "x.yaml: rollout.analysis.min_requests: must be an integer from 1 to 1000000000, got 0");
  expect_single_error(head + "{min_requests: 2.5}\n", "x.yaml: rollout.analysis.min_requests: must be an integer");
  expect_single_error(head + "{max_error_rate: \"1\"}\n",
                      "x.yaml: rollout.analysis.max_error_rate: must be a number, got the string \"1\"");
  expect_single_error(head + "{max_p99_ratio: .inf}\n", "x.yaml: rollout.analysis.max_p99_ratio: must be a number");
  expect_single_error(head + "{max_error_ratio: [2]}\n", "x.yaml: rollout.analysis.max_error_ratio: must be a number");
}

// The rules between fields come from validate(RolloutPlan), with the path under `rollout.`.
TEST(RolloutLoaderTest, PlanRulesNameTheField) {
  expect_single_error("rollout:\n  steps: []\n", "x.yaml: rollout.steps: must list at least one step");
  expect_single_error("rollout:\n  steps: [{promote: true}, {weight: 5}]\n",
                      "x.yaml: rollout.steps[0]: promote must be the last step");
  expect_single_error("rollout:\n  steps: [{weight: 5, promote: true}]\n",
                      "x.yaml: rollout.steps[0]: promote stands alone in its step");
  expect_single_error("rollout:\n  steps: [{weight: 5}, {}]\n",
                      "x.yaml: rollout.steps[1]: needs a weight, a pause or promote");
  expect_single_error("rollout:\n  steps: [{weight: 5, pause: 169h}]\n", "x.yaml: rollout.steps[0].pause: ");
  std::string many = "rollout:\n  steps: [";
  for (int i = 0; i < 33; ++i) many += "{weight: 1},";
  expect_single_error(many + "]\n", "x.yaml: rollout.steps: at most 32 steps");
  const std::string head = "rollout:\n  steps: [{weight: 5}]\n  analysis: ";
  expect_single_error(head + "{alpha: 1}\n", "x.yaml: rollout.analysis.alpha: must be between 0 and 1 (exclusive)");
  expect_single_error(head + "{alpha: -0.5}\n", "x.yaml: rollout.analysis.alpha: must be between 0 and 1 (exclusive)");
  expect_single_error(head + "{interval: 2m}\n",
                      "x.yaml: rollout.analysis.window: must be at least analysis.interval");
  expect_single_error(head + "{max_error_rate: 100}\n", "x.yaml: rollout.analysis.max_error_rate: must be between");
  expect_single_error(head + "{max_error_ratio: 0.5}\n", "x.yaml: rollout.analysis.max_error_ratio: must be at least 1");
  expect_single_error(head + "{max_p99_ratio: 0.9}\n", "x.yaml: rollout.analysis.max_p99_ratio: must be at least 1");
}

}  // namespace
}  // namespace canaryd::config
