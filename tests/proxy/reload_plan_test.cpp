// plan_reload, the SIGHUP policy, without a process: what a new config may change, what it keeps until
// a restart, and the exact log lines of each refusal and notice.
#include "proxy/control/reload_plan.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace canaryd::proxy {
namespace {

constexpr std::string_view kPath = "/etc/canaryd.yaml";

config::Selector sel(std::string_view text) {
  auto s = config::Selector::parse(text);
  EXPECT_TRUE(s.ok()) << text << ": " << (s ? "" : s.error().message);
  return s.value_or(config::Selector());
}

config::Listener listener(std::uint16_t port) { return config::Listener{config::HostPort{"127.0.0.1", port}, {}}; }

config::Endpoint endpoint(std::uint16_t port, config::Labels labels) {
  return config::Endpoint{config::HostPort{"127.0.0.1", port}, std::move(labels), std::nullopt, ""};
}

config::Config running_config() {
  config::Config c;
  c.source = std::string(kPath);
  c.listen = {listener(8080)};
  c.threads = 2;
  c.state_file = "/var/lib/canaryd/state.json";
  c.endpoints = {endpoint(18081, {{"name", "nginx"}}), endpoint(18082, {{"name", "nginx"}, {"version", "v2"}})};
  c.service.selector = sel("name=nginx");
  c.service.stable = sel("!version");
  c.service.canary = sel("version=v2");
  return c;
}

config::Config with_discovery(config::Config c) {
  c.discovery = config::KubernetesDiscovery{"shop", 80, "", "https://10.0.0.1:6443", "", false};
  c.endpoints.clear();
  return c;
}

weights::RoutingState state_in_force() {
  weights::RoutingState s;
  s.revision = 3;
  s.stable = sel("!version");
  s.canary = sel("version=v2");
  s.canary_weight = 1000;
  return s;
}

ReloadPlan plan(const config::Config& running, config::Config next) {
  return plan_reload(running, std::move(next), state_in_force(), std::string(kPath));
}

void expect_no_notices(const ReloadPlan& p) {
  EXPECT_FALSE(p.discovery_notice);
  EXPECT_FALSE(p.listen_notice);
  EXPECT_FALSE(p.control_notice);
}

TEST(ReloadPlan, AnUnchangedConfigIsAppliedAsItIs) {
  const config::Config running = running_config();
  const ReloadPlan p = plan(running, running);
  EXPECT_FALSE(p.refusal);
  expect_no_notices(p);
  EXPECT_EQ(p.next.endpoints, running.endpoints);
  EXPECT_EQ(p.next.threads, 2u);
}

TEST(ReloadPlan, NewEndpointsWeightsAndTimeoutsApply) {
  const config::Config running = running_config();
  config::Config next = running;
  next.endpoints.push_back(endpoint(18083, {{"name", "nginx"}}));
  next.history_limit = 4;
  next.timeouts.drain = std::chrono::seconds(3);
  const ReloadPlan p = plan(running, next);
  ASSERT_FALSE(p.refusal);
  expect_no_notices(p);
  EXPECT_EQ(p.next.endpoints.size(), 3u);
  EXPECT_EQ(p.next.history_limit, 4u);
  EXPECT_EQ(p.next.timeouts.drain, std::chrono::milliseconds(3000));
}

TEST(ReloadPlan, SwitchingToOrFromDiscoveryTakesARestart) {
  const std::string line = "reload failed: /etc/canaryd.yaml: switching between endpoints and discovery.kubernetes, "
                           "or moving the state, takes a restart";
  const config::Config files = running_config();
  const config::Config pods = with_discovery(files);
  EXPECT_EQ(plan(files, pods).refusal.value_or(""), line);
  EXPECT_EQ(plan(pods, files).refusal.value_or(""), line);
  config::Config moved = pods;
  moved.state_configmap = "canaryd-state";
  EXPECT_EQ(plan(pods, moved).refusal.value_or(""), line);
  expect_no_notices(plan(pods, moved));
}

TEST(ReloadPlan, WithDiscoveryThePodsStayAndTheApiServerWaitsForARestart) {
  config::Config running = with_discovery(running_config());
  running.endpoints = {endpoint(18090, {{"name", "nginx"}})};  // what discovery found
  config::Config next = with_discovery(running_config());
  next.discovery->namespace_name = "other";  // applies: discovery relists
  ReloadPlan p = plan(running, next);
  ASSERT_FALSE(p.refusal);
  EXPECT_FALSE(p.discovery_notice);
  EXPECT_EQ(p.next.endpoints, running.endpoints);
  EXPECT_EQ(p.next.discovery->namespace_name, "other");

  next.discovery->api_server = "https://10.0.0.2:6443";
  p = plan(running, next);
  EXPECT_EQ(p.discovery_notice.value_or(""),
            "reload: discovery.kubernetes.api_server and kubeconfig take effect at the next restart");
  next.discovery->api_server = running.discovery->api_server;
  next.discovery->kubeconfig = "/etc/kubeconfig";
  EXPECT_TRUE(plan(running, next).discovery_notice);
}

TEST(ReloadPlan, TheDiscoveryNoticeComesWithALaterRefusal) {
  const config::Config running = with_discovery(running_config());
  config::Config next = running;
  next.discovery->api_server = "https://10.0.0.2:6443";
  next.service.selector = config::Selector();  // every endpoint: v1 and v2 overlap
  next.service.stable = sel("name=nginx");
  const ReloadPlan p = plan_reload(running, next, [] {
    weights::RoutingState s = state_in_force();
    s.stable = sel("name=nginx");  // overlaps the canary version=v2 under an empty service selector
    return s;
  }(), std::string(kPath));
  EXPECT_TRUE(p.discovery_notice);
  EXPECT_EQ(p.refusal.value_or(""),
            "reload failed: /etc/canaryd.yaml: service.selector: the current stable and canary sets would overlap");
}

TEST(ReloadPlan, ASelectorUnderWhichTheCurrentSetsOverlapIsRefused) {
  const config::Config running = running_config();
  weights::RoutingState current = state_in_force();
  current.stable = sel("tier=web");
  current.canary = sel("version=v2");
  config::Config next = running;
  EXPECT_TRUE(plan_reload(running, next, current, std::string(kPath)).refusal);  // {tier=web,version=v2} is in both
  next.service.selector = sel("name=nginx,!tier");
  EXPECT_FALSE(plan_reload(running, next, current, std::string(kPath)).refusal);
  current.canary.reset();  // without a canary nothing can overlap
  next.service.selector = config::Selector();
  EXPECT_FALSE(plan_reload(running, next, current, std::string(kPath)).refusal);
}

TEST(ReloadPlan, TheTokenRequirementIsNeverTurnedOff) {
  config::Config running = running_config();
  running.control.token_file = "/etc/canaryd/token";
  config::Config next = running;
  next.control.token_file.clear();
  EXPECT_EQ(plan(running, next).refusal.value_or(""),
            "reload failed: /etc/canaryd.yaml: control.token_file: a reload never turns the token requirement off; "
            "that takes a restart");
  next.control.token_file = "/etc/canaryd/other-token";  // another file: read by the caller, then applied
  EXPECT_FALSE(plan(running, next).refusal);
  EXPECT_FALSE(plan(running_config(), running).refusal);  // turning it on is fine
}

TEST(ReloadPlan, ListenAddressesWaitForARestartButTheirTlsSettingsApply) {
  config::Config running = running_config();
  running.listen.push_back(listener(8443));
  config::Config next = running;
  next.listen[1].tls = config::ListenerTls{"/etc/cert.pem", "/etc/key.pem"};
  ReloadPlan p = plan(running, next);
  EXPECT_FALSE(p.listen_notice);
  ASSERT_EQ(p.next.listen.size(), 2u);
  EXPECT_TRUE(p.next.listen[1].tls);

  next.listen[1].address.port = 9443;
  p = plan(running, next);
  EXPECT_EQ(p.listen_notice.value_or(""), "reload: listen addresses changed; they take effect at the next restart");
  ASSERT_EQ(p.next.listen.size(), 2u);
  EXPECT_EQ(p.next.listen[1].address.port, 8443);
  EXPECT_FALSE(p.next.listen[1].tls);  // the running listeners, settings and all

  next.listen.pop_back();
  EXPECT_TRUE(plan(running, next).listen_notice);
}

TEST(ReloadPlan, ControlAddressThreadsAndStateFileAreKept) {
  const config::Config running = running_config();
  config::Config next = running;
  next.control.address = config::HostPort{"127.0.0.1", 9999};
  next.threads = 8;
  next.state_file = "/tmp/elsewhere.json";
  const ReloadPlan p = plan(running, next);
  ASSERT_FALSE(p.refusal);
  EXPECT_EQ(p.control_notice.value_or(""), "reload: control.address changed; it takes effect at the next restart");
  EXPECT_EQ(p.next.control.address, running.control.address);
  EXPECT_EQ(p.next.threads, 2u);
  EXPECT_EQ(p.next.state_file, running.state_file);

  next.control.address = running.control.address;
  EXPECT_FALSE(plan(running, next).control_notice);  // threads and state_file change silently, as before
}

}  // namespace
}  // namespace canaryd::proxy
