// Unit tests of GET /api/rollout as canaryctl reads and shows it: parsing (nulls, malformed fields,
// printable text), the pause's time left, the verdict, the status view and the confirmations.
#include "ctl/rollout_view.hpp"

#include <gtest/gtest.h>

#include "weights/routing_state.hpp"

namespace canaryd::ctl {
namespace {

constexpr std::string_view kProgressing = R"({"phase": "progressing", "step": 2, "steps": 4, "canary_weight": 25.0,
  "pause_until": "2026-12-05T10:00:00Z",
  "analysis": {"stable": {"requests": 1200, "error_rate": 0.5, "p99_ms": 12.0},
               "canary": {"requests": 130, "error_rate": 0.77, "p99_ms": 14.5},
               "verdict": "pass", "failures": 1},
  "reason": "step 2 pausing"})";

RolloutView view_of(std::string_view json) {
  auto r = parse_rollout(json);
  if (!r) {
    ADD_FAILURE() << r.error().message;
    return {};
  }
  return r.value();
}

std::chrono::system_clock::time_point at(const std::string& rfc3339) { return *weights::parse_time(rfc3339); }

TEST(RolloutViewTest, ParsesTheContractsDocument) {
  const auto v = view_of(kProgressing);
  EXPECT_EQ(v.phase, "progressing");
  EXPECT_EQ(v.step, 2u);
  EXPECT_EQ(v.steps, 4u);
  EXPECT_EQ(v.canary_weight, 25.0);
  EXPECT_EQ(v.pause_until, "2026-12-05T10:00:00Z");
  ASSERT_TRUE(v.analysis.has_value());
  EXPECT_EQ(v.analysis->canary.requests, 130u);
  EXPECT_EQ(v.analysis->canary.error_rate, 0.77);
  EXPECT_EQ(v.analysis->stable.p99_ms, 12.0);
  EXPECT_EQ(v.analysis->verdict, "pass");
  EXPECT_EQ(v.analysis->failures, 1u);
  EXPECT_EQ(v.reason, "step 2 pausing");
  EXPECT_FALSE(v.finished());
}

TEST(RolloutViewTest, NoneAndNullsAreFine) {
  const auto v = view_of(R"({"phase": "none"})");
  EXPECT_EQ(v.phase, "none");
  EXPECT_TRUE(v.finished());
  EXPECT_FALSE(v.step.has_value());
  const auto nulls = view_of(R"({"phase": "paused", "step": 1, "steps": 2, "canary_weight": 5, "pause_until": null,
    "analysis": {"stable": {"requests": 0, "error_rate": null, "p99_ms": null}, "canary": null, "verdict": "inconclusive", "failures": 0},
    "reason": null})");
  EXPECT_FALSE(nulls.analysis->stable.error_rate.has_value());
  EXPECT_FALSE(nulls.analysis->canary.requests.has_value());
  EXPECT_EQ(nulls.pause_until, "");
}

TEST(RolloutViewTest, MalformedDocumentsAreRefusedWithTheField) {
  EXPECT_EQ(parse_rollout("<html>").error().message.rfind("not JSON", 0), 0u);
  EXPECT_EQ(parse_rollout("[]").error().message, "rollout is not an object");
  EXPECT_EQ(parse_rollout(R"({"step": 1})").error().message, "rollout has no \"phase\"");
  EXPECT_EQ(parse_rollout(R"({"phase": "paused", "step": "one"})").error().message, "rollout.step is not a count");
  EXPECT_EQ(parse_rollout(R"({"phase": "paused", "analysis": {"canary": {"p99_ms": "x"}}})").error().message,
            "analysis.canary.p99_ms is not a number");
}

TEST(RolloutViewTest, ServerTextIsMadePrintable) {
  const auto v = view_of("{\"phase\": \"aborted\", \"reason\": \"bad\\nrow\\u001b[2J\"}");
  EXPECT_EQ(v.reason, "bad\\nrow\\x1b[2J");
}

TEST(RolloutViewTest, PauseTextSaysTheTimeLeft) {
  const auto v = view_of(kProgressing);
  EXPECT_EQ(pause_text(v, at("2026-12-05T09:58:40Z")), "until 2026-12-05T10:00:00Z (1m20s left)");
  EXPECT_EQ(pause_text(v, at("2026-12-05T08:59:00Z")), "until 2026-12-05T10:00:00Z (1h1m left)");
  EXPECT_EQ(pause_text(v, at("2026-12-05T10:00:05Z")), "until 2026-12-05T10:00:00Z (0s left)");
  EXPECT_EQ(pause_text(view_of(R"({"phase": "paused", "pause_until": null})"), {}),
            "paused: `canaryctl rollout resume` continues");
  EXPECT_EQ(pause_text(view_of(R"({"phase": "completed"})"), {}), "");
}

TEST(RolloutViewTest, VerdictAndFigures) {
  EXPECT_EQ(verdict_text(view_of(kProgressing)), "pass (1 failed check)");
  EXPECT_EQ(verdict_text(view_of(R"({"phase": "aborted", "analysis": {"verdict": "fail", "failures": 2}})")),
            "fail (2 failed checks)");
  EXPECT_EQ(verdict_text(view_of(R"({"phase": "progressing"})")), "");
  EXPECT_EQ(error_rate_text(0.77), "0.77%");
  EXPECT_EQ(error_rate_text(std::nullopt), "-");
  EXPECT_EQ(p99_text(14.5), "14.5ms");
}

TEST(RolloutViewTest, RendersTheStatusView) {
  EXPECT_EQ(render_rollout(view_of(kProgressing), at("2026-12-05T09:59:00Z")),
            "PHASE    progressing\n"
            "STEP     2/4  weight 25%\n"
            "PAUSE    until 2026-12-05T10:00:00Z (1m0s left)\n"
            "VERDICT  pass (1 failed check)\n"
            "REASON   step 2 pausing\n"
            "\n"
            "SET     REQUESTS  ERRORS  P99\n"
            "stable  1200      0.5%    12ms\n"
            "canary  130       0.77%   14.5ms\n");
  EXPECT_EQ(render_rollout(view_of(R"({"phase": "none"})"), {}),
            "no rollout (start one with `canaryctl rollout start`)\n");
}

TEST(RolloutViewTest, Confirmations) {
  const auto v = view_of(kProgressing);
  EXPECT_EQ(render_rollout_confirmation(Command::RolloutStart, v), "rollout started: progressing at step 2/4, weight 25%\n");
  EXPECT_EQ(render_rollout_confirmation(Command::RolloutPause, view_of(R"({"phase": "paused", "step": 2, "steps": 4})")),
            "rollout paused: paused at step 2/4\n");
  EXPECT_EQ(render_rollout_confirmation(Command::RolloutAbort,
                                        view_of(R"({"phase": "aborted", "step": 2, "steps": 4, "canary_weight": 0, "reason": "ticket 7"})")),
            "rollout aborted: aborted at step 2/4, weight 0% (ticket 7)\n");
}

}  // namespace
}  // namespace canaryd::ctl
