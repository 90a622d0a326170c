// The control port's route table: every path it answers, looked up by path and method, and the Allow
// text of a 405.
#include "weights/control_routes.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace canaryd::weights {
namespace {

TEST(ControlRoutes, EveryPathOfTheControlPortIsInTheTable) {
  std::set<std::string> paths;
  for (const auto& r : kControlRoutes) paths.insert(std::string(r.path));
  EXPECT_EQ(paths, (std::set<std::string>{"/healthz", "/readyz", "/metrics", "/api/status", "/api/weight",
                                          "/api/promote", "/api/rollback", "/api/undo", "/api/canary",
                                          "/api/history", "/api/rollout", "/api/rollout/pause",
                                          "/api/rollout/resume", "/api/rollout/abort", "/api/rollout/promote",
                                          "/api/explain"}));
}

TEST(ControlRoutes, ARouteIsFoundByPathAndExactMethod) {
  ASSERT_NE(find_route("/api/canary", "PUT"), nullptr);
  EXPECT_EQ(find_route("/api/canary", "PUT")->call, ControlCall::DefineCanary);
  EXPECT_EQ(find_route("/api/canary", "DELETE")->call, ControlCall::RemoveCanary);
  EXPECT_EQ(find_route("/readyz", "GET")->call, ControlCall::Readyz);
  EXPECT_EQ(find_route("/api/canary", "GET"), nullptr);
  EXPECT_EQ(find_route("/api/status", "get"), nullptr);  // methods are case-sensitive
  EXPECT_EQ(find_route("/api/status/", "GET"), nullptr);
  EXPECT_EQ(find_route("/nope", "GET"), nullptr);
}

TEST(ControlRoutes, AllowListsEveryMethodOfThePathInTableOrder) {
  EXPECT_EQ(allowed_methods("/healthz"), "GET");
  EXPECT_EQ(allowed_methods("/api/promote"), "POST");
  EXPECT_EQ(allowed_methods("/api/canary"), "PUT, DELETE");
  EXPECT_EQ(allowed_methods("/api/nope"), "");
}

TEST(ControlRoutes, ProbesAreReadsOutsideTheApi) {
  for (const auto& r : kControlRoutes) {
    EXPECT_EQ(is_probe(r.call), !r.path.starts_with("/api/")) << r.path;
    if (is_probe(r.call)) {
      EXPECT_EQ(r.method, "GET") << r.path;
    }
    ASSERT_NE(find_path(r.path), nullptr);
  }
  EXPECT_EQ(find_path("/api/canary")->method, "PUT");  // the first row of the path
  EXPECT_EQ(find_path("/api"), nullptr);
}

TEST(ControlRoutes, OnlyTheCallsThatNeedFieldsRequireABody) {
  for (const auto& r : kControlRoutes) {
    const bool read = r.method == "GET";
    EXPECT_EQ(r.body == BodyRule::Ignored, read) << r.method << " " << r.path;
  }
  EXPECT_EQ(find_route("/api/weight", "PUT")->body, BodyRule::Required);
  EXPECT_EQ(find_route("/api/canary", "PUT")->body, BodyRule::Required);
  EXPECT_EQ(find_route("/api/canary", "DELETE")->body, BodyRule::Optional);
  EXPECT_EQ(find_route("/api/undo", "POST")->body, BodyRule::Optional);
}

}  // namespace
}  // namespace canaryd::weights
