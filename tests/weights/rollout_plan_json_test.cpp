// Unit tests of the rollout plan's JSON form (the POST /api/rollout body): the contract's example,
// weights judged by their text, each error naming its field, and plan_to_json/plan_from_json round trips.
#include <gtest/gtest.h>

#include <string>

#include "weights/json_text.hpp"
#include "weights/rollout_plan_json.hpp"

namespace canaryd::weights {
namespace {

using config::AnalysisSettings;
using config::PauseKind;
using config::RolloutPlan;
using config::RolloutStep;
using std::chrono::milliseconds;

/// The body as ControlApi reads it: parsed with the text of its numbers.
Result<RolloutPlan> parse(const std::string& text) {
  NumberTexts numbers;
  auto doc = parse_json(text, &numbers);
  EXPECT_TRUE(doc.ok()) << text;
  if (!doc) return fail("not JSON");
  return plan_from_json(*doc, &numbers);
}

std::string error_of(const std::string& text) {
  const auto r = parse(text);
  return r ? std::string("(accepted)") : r.error().message;
}

TEST(RolloutPlanJsonTest, TheContractsPlanReads) {
  const auto plan = parse(R"({"steps": [{"weight": 5, "pause": "2m"}, {"weight": 25, "pause": "manual"},
      {"weight": 33.33}, {"pause": "90s"}, {"promote": true}],
      "analysis": {"interval": "10s", "window": "1m", "min_requests": 50, "max_error_rate": 1,
                   "max_error_ratio": 2, "alpha": 0.01, "max_p99_ratio": 1.5, "failure_limit": 2},
      "cause": "release 1.4", "if_revision": 7})");
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_EQ(plan->steps.size(), 5u);
  EXPECT_EQ(plan->steps[0], (RolloutStep{500, PauseKind::Timed, milliseconds(120'000), false}));
  EXPECT_EQ(plan->steps[1], (RolloutStep{2500, PauseKind::Manual, milliseconds(0), false}));
  EXPECT_EQ(plan->steps[2], (RolloutStep{3333, PauseKind::None, milliseconds(0), false}));
  EXPECT_EQ(plan->steps[3], (RolloutStep{std::nullopt, PauseKind::Timed, milliseconds(90'000), false}));
  EXPECT_EQ(plan->steps[4], (RolloutStep{std::nullopt, PauseKind::None, milliseconds(0), true}));
  ASSERT_TRUE(plan->analysis.has_value());
  EXPECT_EQ(*plan->analysis, AnalysisSettings{});
}

TEST(RolloutPlanJsonTest, AnalysisKeysLeftOutKeepTheirDefaultsAndNullMeansNone) {
  auto plan = parse(R"({"steps": [{"weight": 10}], "analysis": {"alpha": 0.001}})");
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  AnalysisSettings expected;
  expected.alpha = 0.001;
  EXPECT_EQ(plan->analysis, expected);
  plan = parse(R"({"steps": [{"weight": 10}], "analysis": null})");
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_FALSE(plan->analysis.has_value());
  plan = parse(R"({"steps": [{"weight": 10}]})");
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_FALSE(plan->analysis.has_value());
}

// The weight rule of PUT /api/weight: the number's text, never the double it parses to.
TEST(RolloutPlanJsonTest, WeightsAreJudgedByTheirText) {
  EXPECT_EQ(error_of(R"({"steps": [{"weight": 33.3300000000000001}]})"),
            "steps[0].weight: must be a number from 0 to 100 with at most two decimals, got 33.3300000000000001");
  EXPECT_EQ(error_of(R"({"steps": [{"weight": 5}, {"weight": 1e1}]})"),
            "steps[1].weight: must be a number from 0 to 100 with at most two decimals, got 1e1");
  EXPECT_EQ(error_of(R"({"steps": [{"weight": 100.01}]})"),
            "steps[0].weight: must be a number from 0 to 100 with at most two decimals, got 100.01");
  EXPECT_EQ(error_of(R"({"steps": [{"weight": "30"}]})"),
            "steps[0].weight: must be a number from 0 to 100 with at most two decimals, got a string");
  EXPECT_EQ(error_of(R"({"steps": [{"weight": -1}]})"),
            "steps[0].weight: must be a number from 0 to 100 with at most two decimals, got -1");
}

TEST(RolloutPlanJsonTest, StepErrorsNameTheStep) {
  EXPECT_EQ(error_of(R"({"steps": [{"weight": 5}, {"weight": 25, "pause": "soon"}]})"),
            "steps[1].pause: must be a duration like \"2m\", or \"manual\"");
  EXPECT_EQ(error_of(R"({"steps": [{"weight": 5, "pause": 120}]})"),
            "steps[0].pause: must be a duration like \"2m\", or \"manual\"");
  EXPECT_EQ(error_of(R"({"steps": [{"weight": 5, "pause": "0s"}]})"),
            "steps[0].pause: must be a duration like \"2m\", or \"manual\"");
  EXPECT_EQ(error_of(R"({"steps": [{"weight": 5}, {"promote": false}]})"),
            "steps[1].promote: must be true (a step {\"promote\": true} ends the rollout)");
  EXPECT_EQ(error_of(R"({"steps": [{"wieght": 5}]})"), "steps[0]: unknown field \"wieght\"");
  EXPECT_EQ(error_of(R"({"steps": [5]})"),
            "steps[0]: must be an object such as {\"weight\": 5, \"pause\": \"2m\"}, got a number");
}

TEST(RolloutPlanJsonTest, ShapeErrors) {
  EXPECT_EQ(error_of(R"({"cause": "x"})"), "steps: required (a list of steps such as {\"weight\": 5, \"pause\": \"2m\"})");
  EXPECT_EQ(error_of(R"({"steps": {"weight": 5}})"), "steps: must be an array, got an object");
  EXPECT_EQ(error_of(R"({"steps": [{"weight": 5}], "step": []})"), "unknown field \"step\"");
  EXPECT_EQ(error_of(R"([1])"), "a rollout plan must be a JSON object");
  std::string many = R"({"steps": [)";
  for (int i = 0; i < 33; ++i) many += std::string(i ? "," : "") + R"({"weight": 1})";
  EXPECT_EQ(error_of(many + "]}"), "steps: at most 32 steps");
}

TEST(RolloutPlanJsonTest, AnalysisErrorsNameTheKey) {
  const std::string head = R"({"steps": [{"weight": 5}], "analysis": )";
  EXPECT_EQ(error_of(head + "[]}"), "analysis: must be an object, got an array");
  EXPECT_EQ(error_of(head + R"({"beta": 1}})"), "analysis: unknown field \"beta\"");
  EXPECT_EQ(error_of(head + R"({"interval": 10}})"), "analysis.interval: must be a positive duration like \"10s\"");
  EXPECT_EQ(error_of(head + R"({"window": "0s"}})"), "analysis.window: must be a positive duration like \"10s\"");
  EXPECT_EQ(error_of(head + R"({"min_requests": 0}})"), "analysis.min_requests: must be an integer from 1 to 1000000000");
  EXPECT_EQ(error_of(head + R"({"min_requests": 2.5}})"), "analysis.min_requests: must be an integer from 1 to 1000000000");
  EXPECT_EQ(error_of(head + R"({"failure_limit": -1}})"), "analysis.failure_limit: must be an integer from 1 to 1000");
  EXPECT_EQ(error_of(head + R"({"failure_limit": 1001}})"), "analysis.failure_limit: must be an integer from 1 to 1000");
  EXPECT_EQ(error_of(head + R"({"alpha": "0.01"}})"), "analysis.alpha: must be a number, got a string");
  // Then the rules of validate(plan).
  EXPECT_EQ(error_of(head + R"({"alpha": 1}})"), "analysis.alpha: must be between 0 and 1 (exclusive)");
  EXPECT_EQ(error_of(head + R"({"interval": "2m"}})"), "analysis.window: must be at least analysis.interval");
}

TEST(RolloutPlanJsonTest, PlanRulesComeFromValidate) {
  EXPECT_EQ(error_of(R"({"steps": []})"), "steps: must list at least one step");
  EXPECT_EQ(error_of(R"({"steps": [{"promote": true}, {"weight": 5}]})"), "steps[0]: promote must be the last step");
  EXPECT_EQ(error_of(R"({"steps": [{"weight": 5, "promote": true}]})"), "steps[0]: promote stands alone in its step");
  EXPECT_EQ(error_of(R"({"steps": [{}]})"), "steps[0]: needs a weight, a pause or promote");
  EXPECT_EQ(error_of(R"({"steps": [{"pause": "169h"}]})"), "steps[0].pause: must be a duration of at most 168h, or manual");
}

TEST(RolloutPlanJsonTest, OnlyCauseAndIfRevisionAreNotPlanFields) {
  EXPECT_FALSE(has_plan_fields(boost::json::object{}));
  EXPECT_FALSE(has_plan_fields(boost::json::object{{"cause", "x"}, {"if_revision", 3}}));
  EXPECT_TRUE(has_plan_fields(boost::json::object{{"cause", "x"}, {"steps", boost::json::array{}}}));
  EXPECT_TRUE(has_plan_fields(boost::json::object{{"analysis", nullptr}}));
}

TEST(RolloutPlanJsonTest, ToJsonHasTheContractsShape) {
  RolloutPlan plan;
  plan.steps = {RolloutStep{500, PauseKind::Timed, milliseconds(120'000), false},
                RolloutStep{3333, PauseKind::Manual, milliseconds(0), false},
                RolloutStep{std::nullopt, PauseKind::None, milliseconds(0), true}};
  EXPECT_EQ(to_json_text(plan_to_json(plan)),
            R"({"steps":[{"weight":5.0,"pause":"2m"},{"weight":33.33,"pause":"manual"},{"promote":true}]})");
  plan.analysis = AnalysisSettings{};
  EXPECT_EQ(to_json_text(plan_to_json(plan).at("analysis")),
            R"({"interval":"10s","window":"1m","min_requests":50,"max_error_rate":1.0,"max_error_ratio":2.0,)"
            R"("alpha":0.01,"max_p99_ratio":1.5,"failure_limit":2})");
}

// plan_from_json(plan_to_json(p)) == p: through the text with its numbers (as a client would send it
// back) and through the value alone (as the state file reads it), for every weight 0..100.00.
TEST(RolloutPlanJsonTest, EveryValidPlanRoundTrips) {
  AnalysisSettings odd;
  odd.interval = milliseconds(1500);
  odd.window = milliseconds(3'600'000);
  odd.min_requests = 1'000'000'000;
  odd.max_error_rate = 0.3;
  odd.max_error_ratio = 1.1;
  odd.alpha = 1e-9;
  odd.max_p99_ratio = 1;
  odd.failure_limit = 1000;
  for (config::BasisPoints bp = 0; bp <= config::kMaxBasisPoints; bp += 1) {
    RolloutPlan plan;
    plan.steps = {RolloutStep{bp, PauseKind::Timed, milliseconds(bp + 1), false},
                  RolloutStep{config::kMaxBasisPoints - bp, PauseKind::None, milliseconds(0), false},
                  RolloutStep{std::nullopt, PauseKind::Manual, milliseconds(0), false}};
    if (bp % 97 == 0) plan.steps.push_back(RolloutStep{std::nullopt, PauseKind::None, milliseconds(0), true});
    if (bp % 2 == 0) plan.analysis = bp % 4 == 0 ? AnalysisSettings{} : odd;
    const std::string text = to_json_text(plan_to_json(plan));
    const auto back = parse(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.error().message;
    ASSERT_EQ(*back, plan) << text;
    const auto from_value = plan_from_json(boost::json::value(plan_to_json(plan)));
    ASSERT_TRUE(from_value.ok()) << text << ": " << from_value.error().message;
    ASSERT_EQ(*from_value, plan) << text;
  }
}

}  // namespace
}  // namespace canaryd::weights
