// Unit tests of canaryctl's served share: reading "served" from status, the SERVED column beside the
// configured SHARE, and the warning when a set serves markedly other than its weight.
#include <gtest/gtest.h>

#include "ctl/render.hpp"

namespace canaryd::ctl {
namespace {

/// The parsed document; a parse failure fails the test with its message.
StatusView status_from(std::string_view json) {
  auto parsed = parse_status(json);
  if (parsed.ok()) return std::move(parsed).value();
  ADD_FAILURE() << parsed.error().message << " in " << json;
  return {};
}

/// A status at 10 % whose canary served `canary_served` % of `total` requests; `healthy`: the canary's one
/// endpoint.
StatusView served_status(double canary_served, std::uint64_t total, bool healthy = true) {
  auto canary = static_cast<std::uint64_t>(static_cast<double>(total) * canary_served / 100.0);
  std::string json = R"({"revision": 5, "canary_weight": 10.0, "updated_at": "2026-11-27T15:00:00Z",
    "stable": {"selector": "name=nginx,version=v1", "served": )" + std::to_string(100.0 - canary_served) +
                     R"(, "served_requests": )" + std::to_string(total - canary) + R"(,
               "endpoints": [{"address": "127.0.0.1:18081", "labels": {}, "healthy": true}]},
    "canary": {"selector": "name=nginx,version=v2", "served": )" + std::to_string(canary_served) +
                     R"(, "served_requests": )" + std::to_string(canary) + R"(,
               "endpoints": [{"address": "127.0.0.1:18084", "labels": {}, "healthy": )" +
                     (healthy ? "true" : "false") + "}]}}";
  return status_from(json);
}

TEST(ServedParseTest, ReadsServedAndNull) {
  auto s = status_from(R"({"revision": 1, "canary_weight": 25.0, "updated_at": "",
    "stable": {"selector": "a=b", "endpoints": [], "served": null, "served_requests": 0},
    "canary": {"selector": "a=c", "endpoints": [], "served": 24.6, "served_requests": 41}})");
  EXPECT_TRUE(s.stable.has_served);
  EXPECT_FALSE(s.stable.served.has_value());
  ASSERT_TRUE(s.canary.has_value());
  EXPECT_DOUBLE_EQ(*s.canary->served, 24.6);
  EXPECT_EQ(s.canary->served_requests, 41u);
}

TEST(ServedParseTest, RefusesAServedThatIsNoNumber) {
  EXPECT_FALSE(parse_status(R"({"revision": 1, "canary_weight": 0, "stable": {"selector": "a=b", "served": "x"},
    "canary": null})").ok());
}

TEST(ServedRenderTest, ShowsServedBesideTheConfiguredShare) {
  EXPECT_EQ(render_status(served_status(10.0, 1000)),
            "REVISION  5         UPDATED  2026-11-27T15:00:00Z\n"
            "CANARY WEIGHT  10%\n"
            "\n"
            "SET     SELECTOR               SHARE  SERVED  ENDPOINTS\n"
            "stable  name=nginx,version=v1  90%    90%     127.0.0.1:18081 (healthy)\n"
            "canary  name=nginx,version=v2  10%    10%     127.0.0.1:18084 (healthy)\n");
}

TEST(ServedRenderTest, ShowsADashBeforeAnyRequest) {
  auto s = status_from(R"({"revision": 1, "canary_weight": 0, "updated_at": "2026-11-27T15:00:00Z",
    "stable": {"selector": "a=b", "endpoints": [], "served": null, "served_requests": 0}, "canary": null})");
  EXPECT_EQ(render_status(s),
            "REVISION  1         UPDATED  2026-11-27T15:00:00Z\n"
            "CANARY WEIGHT  0%\n"
            "\n"
            "SET     SELECTOR  SHARE  SERVED  ENDPOINTS\n"
            "stable  a=b       100%   -       <none>\n"
            "canary  <none>\n");
  EXPECT_TRUE(served_warnings(s).empty());
}

TEST(ServedRenderTest, WarnsWhenACanaryWithoutHealthyEndpointServesNothing) {
  const auto s = served_status(0.0, 500, false);
  const auto warnings = served_warnings(s);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "warning: canary served 0% of the last minute's 500 requests but is configured at 10% "
            "(it has no healthy endpoint)");
  EXPECT_NE(render_status(s).find("\n" + warnings[0] + "\n"), std::string::npos) << render_status(s);
}

TEST(ServedRenderTest, NoWarningWithinTheTolerance) {
  // At 10 %: within max(2 points, 2 points) either way.
  EXPECT_TRUE(served_warnings(served_status(8.1, 1000)).empty());
  EXPECT_TRUE(served_warnings(served_status(11.9, 1000)).empty());
  EXPECT_EQ(served_warnings(served_status(12.5, 1000)).size(), 1u);
  EXPECT_EQ(served_warnings(served_status(7.5, 1000)).size(), 1u);
}

TEST(ServedRenderTest, NoWarningWithFewRequests) {
  EXPECT_TRUE(served_warnings(served_status(0.0, 99, false)).empty());
  EXPECT_EQ(served_warnings(served_status(0.0, 100, false)).size(), 1u);
}

TEST(ServedRenderTest, StableGetsTwentyPercentOfItsWeight) {
  // Stable is configured at 90 %: 20 % of it is 18 points, so 75 % served is still fine, 70 % is not.
  auto warns = [](double canary) { return served_warnings(served_status(canary, 1000)); };
  EXPECT_EQ(warns(25.0).size(), 1u);  // the canary's 25 vs 10 warns, stable's 75 vs 90 does not
  const auto both = warns(30.0);
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].rfind("warning: stable served 70%", 0), 0u) << both[0];
}

TEST(ServedRenderTest, NothingFromAServerWithoutServed) {
  auto s = status_from(R"({"revision": 1, "canary_weight": 0, "updated_at": "",
    "stable": {"selector": "a=b", "endpoints": []}, "canary": null})");
  EXPECT_TRUE(served_warnings(s).empty());
  EXPECT_EQ(render_status(s).find("SERVED"), std::string::npos);
}

}  // namespace
}  // namespace canaryd::ctl
