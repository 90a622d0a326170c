// The example configs in config/examples load without errors, and the full one shows every default.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "config/config.hpp"

namespace canaryd::config {
namespace {

// tests/config/examples_test.cpp -> <source root>/config/examples; the build passes absolute paths.
std::string example_path(const char* name) {
  const std::filesystem::path root = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  return (root / "config" / "examples" / name).string();
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "\n  " + l;
  return out;
}

TEST(ExamplesTest, NginxCanaryExampleIsValid) {
  const LoadResult r = load_config_file(example_path("nginx-canary.yaml"));
  ASSERT_TRUE(r.ok()) << join(r ? std::vector<std::string>{} : r.error());
  const Config& c = *r;
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].address.to_string(), "0.0.0.0:31180");
  ASSERT_EQ(c.endpoints.size(), 4u);
  const Selector stable = c.stable_selector();
  const Selector canary = Selector::conjunction(c.service.selector, *c.service.canary);
  EXPECT_EQ(stable.to_string(), "name=nginx,!version");
  EXPECT_EQ(canary.to_string(), "name=nginx,version=v2");
  EXPECT_EQ(c.service.canary_weight, 0u);
  // The three v1 pods are stable, the v2 pod is the canary, nothing is both.
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(stable.matches(c.endpoints[i].labels)) << i;
    EXPECT_FALSE(canary.matches(c.endpoints[i].labels)) << i;
  }
  EXPECT_EQ(c.endpoints[3].address.to_string(), "127.0.0.1:18084");
  EXPECT_FALSE(stable.matches(c.endpoints[3].labels));
  EXPECT_TRUE(canary.matches(c.endpoints[3].labels));
}

TEST(ExamplesTest, FullExampleIsValidAndShowsTheDefaults) {
  const LoadResult r = load_config_file(example_path("full.yaml"));
  ASSERT_TRUE(r.ok()) << join(r ? std::vector<std::string>{} : r.error());
  const Config& c = *r;
  const Config defaults;
  EXPECT_EQ(c.threads, defaults.threads);
  EXPECT_EQ(c.control.address, defaults.control.address);
  EXPECT_EQ(c.control.token_file, defaults.control.token_file);
  EXPECT_EQ(c.state_file, defaults.state_file);
  EXPECT_EQ(c.history_limit, defaults.history_limit);
  EXPECT_EQ(c.access_log, defaults.access_log);
  EXPECT_EQ(c.log_format, defaults.log_format);
  EXPECT_EQ(c.routing.override_header, defaults.routing.override_header);
  EXPECT_EQ(c.routing.response_header, defaults.routing.response_header);
  EXPECT_EQ(c.routing.retries, defaults.routing.retries);
  EXPECT_EQ(c.routing.override_cookie, defaults.routing.override_cookie);
  EXPECT_EQ(c.routing.override_sources, defaults.routing.override_sources);
  EXPECT_EQ(c.routing.affinity, defaults.routing.affinity);
  EXPECT_EQ(c.timeouts.connect, defaults.timeouts.connect);
  EXPECT_EQ(c.timeouts.upstream, defaults.timeouts.upstream);
  EXPECT_EQ(c.timeouts.client_header, defaults.timeouts.client_header);
  EXPECT_EQ(c.timeouts.keepalive_idle, defaults.timeouts.keepalive_idle);
  EXPECT_EQ(c.timeouts.drain, defaults.timeouts.drain);
  EXPECT_EQ(c.timeouts.tunnel_idle, defaults.timeouts.tunnel_idle);
  EXPECT_EQ(c.limits.max_header_bytes, defaults.limits.max_header_bytes);
  EXPECT_EQ(c.limits.max_body_bytes, defaults.limits.max_body_bytes);
  EXPECT_EQ(c.limits.h2_max_concurrent_streams, defaults.limits.h2_max_concurrent_streams);
  EXPECT_EQ(c.listen[0].http2, Listener{}.http2);
  EXPECT_EQ(c.service.canary_weight, 0u);
}

// The full example also shows a rollout plan, with the analysis at its defaults.
TEST(ExamplesTest, FullExampleHasTheContractsRolloutPlan) {
  const LoadResult r = load_config_file(example_path("full.yaml"));
  ASSERT_TRUE(r.ok()) << join(r ? std::vector<std::string>{} : r.error());
  ASSERT_TRUE(r->rollout.has_value());
  const RolloutPlan& plan = *r->rollout;
  ASSERT_EQ(plan.steps.size(), 4u);
  EXPECT_EQ(plan.steps[0].weight, BasisPoints{500});
  EXPECT_EQ(plan.steps[1].pause, PauseKind::Manual);
  EXPECT_TRUE(plan.steps[3].promote);
  ASSERT_TRUE(plan.analysis.has_value());
  EXPECT_EQ(*plan.analysis, AnalysisSettings{});
}

}  // namespace
}  // namespace canaryd::config
