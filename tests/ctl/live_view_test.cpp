// Unit tests of the `canaryctl status --watch` frame: share bars, req/s from the served window, error
// rate and p99 from the rollout's analysis, healthy endpoints, the rollout line, warnings and the abort.
#include "ctl/live_view.hpp"

#include <gtest/gtest.h>

#include "weights/routing_state.hpp"

namespace canaryd::ctl {
namespace {

constexpr std::string_view kStatus = R"({"revision": 7, "canary_weight": 25.0, "updated_at": "2026-12-05T09:00:00Z",
  "stable": {"selector": "name=nginx,version=v1", "served": 74.6, "served_requests": 2238,
             "endpoints": [{"address": "127.0.0.1:1", "healthy": true}, {"address": "127.0.0.1:2", "healthy": false}]},
  "canary": {"selector": "name=nginx,version=v2", "served": 25.4, "served_requests": 762,
             "endpoints": [{"address": "127.0.0.1:3", "healthy": true}]},
  "aborted": false})";

constexpr std::string_view kRollout = R"({"phase": "progressing", "step": 2, "steps": 4, "canary_weight": 25.0,
  "pause_until": "2026-12-05T09:02:00Z",
  "analysis": {"stable": {"requests": 2238, "error_rate": 0.5, "p99_ms": 12},
               "canary": {"requests": 762, "error_rate": 0.79, "p99_ms": 14.5}, "verdict": "pass", "failures": 0},
  "reason": ""})";

StatusView status(std::string_view json) { return parse_status(json).value(); }
RolloutView rollout(std::string_view json) { return parse_rollout(json).value(); }
const auto kNow = *weights::parse_time("2026-12-05T09:01:00Z");

TEST(ShareBarTest, FillsItsShareOfTwentyCells) {
  EXPECT_EQ(share_bar(0.0), "[....................]");
  EXPECT_EQ(share_bar(25.0), "[#####...............]");
  EXPECT_EQ(share_bar(100.0), "[####################]");
  EXPECT_EQ(share_bar(2.4), "[....................]");
  EXPECT_EQ(share_bar(2.6), "[#...................]");
  EXPECT_EQ(share_bar(150.0), "[####################]");
  EXPECT_EQ(share_bar(std::nullopt), "[....................]");
}

TEST(LiveFrameTest, ShowsEverySetWithItsFiguresAndTheRollout) {
  EXPECT_EQ(render_live_frame(status(kStatus), rollout(kRollout), "http://127.0.0.1:9901", kNow),
            "canaryd http://127.0.0.1:9901  revision 7  2026-12-05T09:01:00Z\n"
            "SET     SELECTOR               CONFIGURED                  SERVED (1m)                   REQ/S  ERRORS  P99     HEALTHY\n"
            "stable  name=nginx,version=v1  [###############.....] 75%  [###############.....] 74.6%  37.3   0.5%    12ms    1/2\n"
            "canary  name=nginx,version=v2  [#####...............] 25%  [#####...............] 25.4%  12.7   0.79%   14.5ms  1/1\n"
            "ROLLOUT  progressing  step 2/4  weight 25%  until 2026-12-05T09:02:00Z (1m0s left)  verdict pass\n");
}

TEST(LiveFrameTest, WithoutARolloutTheAnalysisFiguresAreDashes) {
  const std::string frame = render_live_frame(status(kStatus), std::nullopt, "h:1", kNow);
  EXPECT_NE(frame.find("37.3   -       -    1/2\n"), std::string::npos) << frame;
  EXPECT_EQ(frame.find("ROLLOUT"), std::string::npos) << frame;
  const std::string none = render_live_frame(status(kStatus), rollout(R"({"phase": "none"})"), "h:1", kNow);
  EXPECT_EQ(none.find("ROLLOUT"), std::string::npos) << none;
}

TEST(LiveFrameTest, NoCanaryNoServedYetAndAborted) {
  const auto s = status(R"({"revision": 2, "canary_weight": 0, "canary": null, "aborted": false,
    "stable": {"selector": "v=1", "served": null, "served_requests": 0, "endpoints": []}})");
  EXPECT_EQ(render_live_frame(s, std::nullopt, "h:1", kNow),
            "canaryd h:1  revision 2  2026-12-05T09:01:00Z\n"
            "SET     SELECTOR  CONFIGURED                   SERVED (1m)               REQ/S  ERRORS  P99  HEALTHY\n"
            "stable  v=1       [####################] 100%  [....................] -  0.0    -       -    0/0\n"
            "canary  <none>\n");
  std::string aborted(kStatus);
  aborted.replace(aborted.find(R"("aborted": false)"), 16, R"("aborted": true)");
  const std::string frame = render_live_frame(status(aborted), rollout(R"j({"phase": "aborted", "step": 2, "steps": 4,
    "canary_weight": 0, "reason": "canary error rate 19.8 % > 1 % (240 requests)"})j"), "h:1", kNow);
  EXPECT_NE(frame.find("ROLLOUT  aborted  step 2/4  weight 0%  (canary error rate 19.8 % > 1 % (240 requests))\n"),
            std::string::npos) << frame;
  EXPECT_NE(frame.find("ABORTED: the canary serves nothing until a weight is set again\n"), std::string::npos);
}

TEST(LiveFrameTest, WarnsWhenACanaryServesLessThanConfigured) {
  const auto s = status(R"({"revision": 3, "canary_weight": 10, "aborted": false,
    "stable": {"selector": "v=1", "served": 100, "served_requests": 600, "endpoints": [{"address": "a:1", "healthy": true}]},
    "canary": {"selector": "v=2", "served": 0, "served_requests": 0, "endpoints": []}})");
  const std::string frame = render_live_frame(s, std::nullopt, "h:1", kNow);
  EXPECT_NE(frame.find("warning: canary served 0% of the last minute's 600 requests but is configured at 10% (it has no endpoint)"),
            std::string::npos) << frame;
}

}  // namespace
}  // namespace canaryd::ctl
