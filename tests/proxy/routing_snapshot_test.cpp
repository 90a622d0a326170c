// Unit tests of building routing snapshots: endpoints into sets by selectors, ids stable across rebuilds and
// reloads, unresolvable hosts, limits carried, a routing state change that keeps the sets.
#include "proxy/dataplane/routing_snapshot.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace canaryd::proxy {
namespace {

config::Selector sel(std::string_view text) {
  auto s = config::Selector::parse(text);
  EXPECT_TRUE(s.ok()) << text << ": " << (s ? std::string() : s.error().message);
  return s.value_or(config::Selector());
}

config::Endpoint endpoint(std::string host, std::uint16_t port, config::Labels labels) {
  return config::Endpoint{config::HostPort{std::move(host), port}, std::move(labels), std::nullopt, ""};
}

const config::Labels kV1 = {{"name", "nginx"}};
const config::Labels kV2 = {{"name", "nginx"}, {"version", "v2"}};

// The Kubernetes canary tutorial: three v1 pods labelled {name: nginx}, one v2 pod adding version: v2.
config::Config tutorial_config() {
  config::Config cfg;
  cfg.source = "<test>";
  cfg.endpoints = {
      endpoint("127.0.0.1", 18081, kV1),
      endpoint("127.0.0.1", 18082, kV1),
      endpoint("127.0.0.1", 18083, kV1),
      endpoint("127.0.0.1", 18084, kV2),
  };
  cfg.service.selector = config::Selector::from_labels({{"name", "nginx"}});
  cfg.service.stable = sel("!version");
  cfg.service.canary = sel("version=v2");
  return cfg;
}

weights::RoutingState tutorial_state(config::BasisPoints weight) {
  weights::RoutingState st;
  st.revision = 7;
  st.stable = sel("!version");
  st.canary = sel("version=v2");
  st.canary_weight = weight;
  st.cause = "test";
  return st;
}

std::vector<std::string> names(const std::vector<UpstreamEndpoint>& eps) {
  std::vector<std::string> out;
  for (const auto& e : eps) out.push_back(e.name);
  return out;
}

// Address name -> id over both sets.
std::map<std::string, std::uint32_t> ids(const RoutingSnapshot& snap) {
  std::map<std::string, std::uint32_t> out;
  for (const auto& set : snap.sets)
    for (const auto& e : set) out[e.name] = e.id;
  return out;
}

struct Built {
  std::shared_ptr<const RoutingSnapshot> snap;
  std::vector<std::string> problems;
};

Built build(const config::Config& cfg, const weights::RoutingState& st, EndpointRegistry& registry) {
  Built b;
  b.snap = build_snapshot(cfg, st, registry, b.problems);
  return b;
}

TEST(RoutingSnapshotTest, EndpointsLandInStableAndCanaryBySelectors) {
  EndpointRegistry registry;
  const auto b = build(tutorial_config(), tutorial_state(1000), registry);
  ASSERT_NE(b.snap, nullptr);
  EXPECT_TRUE(b.problems.empty());
  EXPECT_EQ(names(b.snap->set(SetKind::Stable)),
            (std::vector<std::string>{"127.0.0.1:18081", "127.0.0.1:18082", "127.0.0.1:18083"}));
  EXPECT_EQ(names(b.snap->set(SetKind::Canary)), (std::vector<std::string>{"127.0.0.1:18084"}));
  EXPECT_EQ(b.snap->canary_weight, 1000u);
  EXPECT_EQ(b.snap->revision, 7u);
}

TEST(RoutingSnapshotTest, EndpointsCarryTheirResolvedAddressAndStartHealthy) {
  EndpointRegistry registry;
  const auto b = build(tutorial_config(), tutorial_state(0), registry);
  const auto& canary = b.snap->set(SetKind::Canary);
  ASSERT_EQ(canary.size(), 1u);
  EXPECT_EQ(canary[0].address.address(), boost::asio::ip::make_address("127.0.0.1"));
  EXPECT_EQ(canary[0].address.port(), 18084);
  for (const auto& set : b.snap->sets)
    for (const auto& e : set) EXPECT_TRUE(e.healthy) << e.name;
}

TEST(RoutingSnapshotTest, EndpointsMatchingNeitherSetAreLeftOut) {
  config::Config cfg = tutorial_config();
  cfg.endpoints.push_back(endpoint("127.0.0.1", 18085, {{"name", "nginx"}, {"version", "v3"}}));  // neither set
  cfg.endpoints.push_back(endpoint("127.0.0.1", 18086, {{"name", "apache"}}));                    // other service
  cfg.endpoints.push_back(endpoint("127.0.0.1", 18087, {{"version", "v2"}}));  // canary labels, not the service
  cfg.endpoints.push_back(endpoint("127.0.0.1", 18088, {}));                   // no labels at all
  EndpointRegistry registry;
  const auto b = build(cfg, tutorial_state(5000), registry);
  EXPECT_TRUE(b.problems.empty());
  EXPECT_EQ(names(b.snap->set(SetKind::Stable)),
            (std::vector<std::string>{"127.0.0.1:18081", "127.0.0.1:18082", "127.0.0.1:18083"}));
  EXPECT_EQ(names(b.snap->set(SetKind::Canary)), (std::vector<std::string>{"127.0.0.1:18084"}));
}

TEST(RoutingSnapshotTest, TheRoutingStateNotTheConfigsInitialSelectorsDecidesTheSets) {
  config::Config cfg = tutorial_config();
  cfg.service.stable = sel("version=nothing");  // only the initial state; the live state below wins
  cfg.service.canary.reset();
  EndpointRegistry registry;
  const auto b = build(cfg, tutorial_state(1000), registry);
  EXPECT_EQ(b.snap->set(SetKind::Stable).size(), 3u);
  EXPECT_EQ(b.snap->set(SetKind::Canary).size(), 1u);
}

TEST(RoutingSnapshotTest, WeightIsZeroWhenTheStateHasNoCanary) {
  weights::RoutingState st = tutorial_state(2500);
  st.canary.reset();  // canary_weight left at 2500: the snapshot must not route to an absent set
  EndpointRegistry registry;
  const auto b = build(tutorial_config(), st, registry);
  EXPECT_EQ(b.snap->canary_weight, 0u);
  EXPECT_TRUE(b.snap->set(SetKind::Canary).empty());
  EXPECT_EQ(names(b.snap->set(SetKind::Stable)),
            (std::vector<std::string>{"127.0.0.1:18081", "127.0.0.1:18082", "127.0.0.1:18083"}));
}

// Abort means zero: the routing state's flag reaches the workers with the snapshot (set_choice applies it).
TEST(RoutingSnapshotTest, TheAbortFlagIsCarried) {
  EndpointRegistry registry;
  weights::RoutingState st = tutorial_state(0);
  EXPECT_FALSE(build(tutorial_config(), st, registry).snap->canary_aborted);
  st.aborted = true;
  EXPECT_TRUE(build(tutorial_config(), st, registry).snap->canary_aborted);
}

TEST(RoutingSnapshotTest, FullWeightIsCarriedAsIs) {
  EndpointRegistry registry;
  const auto b = build(tutorial_config(), tutorial_state(config::kMaxBasisPoints), registry);
  EXPECT_EQ(b.snap->canary_weight, config::kMaxBasisPoints);
}

TEST(RoutingSnapshotTest, IdsAreDistinctAndMaxEndpointIdCoversThem) {
  EndpointRegistry registry;
  const auto b = build(tutorial_config(), tutorial_state(1000), registry);
  const auto m = ids(*b.snap);
  ASSERT_EQ(m.size(), 4u);
  std::vector<std::uint32_t> seen;
  for (const auto& [name, id] : m) {
    EXPECT_LE(id, b.snap->max_endpoint_id) << name;
    seen.push_back(id);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end()) << "ids must be distinct";
  EXPECT_EQ(b.snap->max_endpoint_id, 3u) << "four endpoints, ids 0..3, pools sized max+1";
}

TEST(RoutingSnapshotTest, IdsAreStableAcrossRebuilds) {
  EndpointRegistry registry;
  const auto first = build(tutorial_config(), tutorial_state(0), registry);
  const auto second = build(tutorial_config(), tutorial_state(2500), registry);
  EXPECT_EQ(ids(*first.snap), ids(*second.snap));
  EXPECT_EQ(first.snap->max_endpoint_id, second.snap->max_endpoint_id);
}

TEST(RoutingSnapshotTest, SameAddressKeepsItsIdAcrossReloads) {
  EndpointRegistry registry;
  const auto before = ids(*build(tutorial_config(), tutorial_state(1000), registry).snap);

  // The reload reorders the endpoints, drops 18082, adds 18090 and relabels 18083 as the canary.
  config::Config reloaded = tutorial_config();
  reloaded.endpoints = {
      endpoint("127.0.0.1", 18090, kV1),
      endpoint("127.0.0.1", 18084, kV2),
      endpoint("127.0.0.1", 18083, kV2),
      endpoint("127.0.0.1", 18081, kV1),
  };
  const auto b = build(reloaded, tutorial_state(1000), registry);
  const auto after = ids(*b.snap);
  EXPECT_EQ(after.at("127.0.0.1:18081"), before.at("127.0.0.1:18081"));
  EXPECT_EQ(after.at("127.0.0.1:18083"), before.at("127.0.0.1:18083"));
  EXPECT_EQ(after.at("127.0.0.1:18084"), before.at("127.0.0.1:18084"));
  for (const auto& [name, id] : before) EXPECT_NE(after.at("127.0.0.1:18090"), id) << "new address reuses " << name;
  EXPECT_EQ(after.at("127.0.0.1:18090"), 4u);
  EXPECT_EQ(b.snap->max_endpoint_id, 4u) << "ids of removed endpoints are not reused, so pools only grow";
  EXPECT_EQ(names(b.snap->set(SetKind::Canary)), (std::vector<std::string>{"127.0.0.1:18084", "127.0.0.1:18083"}));

  // A removed address that comes back gets its old id.
  const auto back = ids(*build(tutorial_config(), tutorial_state(1000), registry).snap);
  EXPECT_EQ(back, before);
}

TEST(RoutingSnapshotTest, PromotedEndpointMovesToStableKeepingItsId) {
  EndpointRegistry registry;
  const auto before = build(tutorial_config(), tutorial_state(10000), registry);
  weights::RoutingState promoted;
  promoted.revision = 8;
  promoted.stable = sel("version=v2");
  const auto after = build(tutorial_config(), promoted, registry);
  EXPECT_EQ(names(after.snap->set(SetKind::Stable)), (std::vector<std::string>{"127.0.0.1:18084"}));
  EXPECT_TRUE(after.snap->set(SetKind::Canary).empty());
  EXPECT_EQ(after.snap->set(SetKind::Stable)[0].id, before.snap->set(SetKind::Canary)[0].id);
  EXPECT_EQ(after.snap->canary_weight, 0u);
  EXPECT_EQ(after.snap->revision, 8u);
}

TEST(RoutingSnapshotTest, UnresolvableHostIsReportedAndSkipped) {
  config::Config cfg = tutorial_config();
  cfg.endpoints.insert(cfg.endpoints.begin() + 1, endpoint("nowhere.invalid", 8080, kV1));
  EndpointRegistry registry;
  const auto b = build(cfg, tutorial_state(1000), registry);
  ASSERT_EQ(b.problems.size(), 1u);
  EXPECT_NE(b.problems[0].find("nowhere.invalid:8080"), std::string::npos) << b.problems[0];
  EXPECT_EQ(names(b.snap->set(SetKind::Stable)),
            (std::vector<std::string>{"127.0.0.1:18081", "127.0.0.1:18082", "127.0.0.1:18083"}));
  EXPECT_EQ(names(b.snap->set(SetKind::Canary)), (std::vector<std::string>{"127.0.0.1:18084"}));
}

TEST(RoutingSnapshotTest, UnresolvableHostOutsideBothSetsIsNotReported) {
  config::Config cfg = tutorial_config();
  cfg.endpoints.push_back(endpoint("nowhere.invalid", 8080, {{"name", "apache"}}));
  EndpointRegistry registry;
  const auto b = build(cfg, tutorial_state(1000), registry);
  EXPECT_TRUE(b.problems.empty()) << b.problems.front();
}

TEST(RoutingSnapshotTest, Ipv6LiteralIsResolvedWithoutBrackets) {
  config::Config cfg = tutorial_config();
  cfg.endpoints.push_back(endpoint("::1", 18091, kV1));
  EndpointRegistry registry;
  const auto b = build(cfg, tutorial_state(0), registry);
  EXPECT_TRUE(b.problems.empty());
  const auto& stable = b.snap->set(SetKind::Stable);
  ASSERT_EQ(stable.size(), 4u);
  EXPECT_EQ(stable[3].name, "[::1]:18091");
  EXPECT_TRUE(stable[3].address.address().is_v6());
  EXPECT_EQ(stable[3].address.address(), boost::asio::ip::make_address("::1"));
  EXPECT_EQ(stable[3].address.port(), 18091);
}

TEST(RoutingSnapshotTest, SnapshotCarriesRoutingTimeoutsAndLimits) {
  config::Config cfg = tutorial_config();
  cfg.routing.override_header = "X-Force-Set";
  cfg.routing.response_header = "";
  cfg.routing.retries = 5;
  cfg.timeouts.connect = std::chrono::milliseconds(123);
  cfg.timeouts.client_header = std::chrono::milliseconds(4567);
  cfg.limits.max_header_bytes = 8192;
  cfg.limits.max_body_bytes = 1048576;
  EndpointRegistry registry;
  const auto b = build(cfg, tutorial_state(1000), registry);
  EXPECT_EQ(b.snap->override_header, "X-Force-Set");
  EXPECT_EQ(b.snap->response_header, "");
  EXPECT_EQ(b.snap->retries, 5u);
  EXPECT_EQ(b.snap->timeouts.connect, std::chrono::milliseconds(123));
  EXPECT_EQ(b.snap->timeouts.client_header, std::chrono::milliseconds(4567));
  EXPECT_EQ(b.snap->timeouts.upstream, cfg.timeouts.upstream);
  EXPECT_EQ(b.snap->limits.max_header_bytes, 8192u);
  EXPECT_EQ(b.snap->limits.max_body_bytes, 1048576u);
}

TEST(RoutingSnapshotTest, EmptyConfigGivesEmptySets) {
  config::Config cfg = tutorial_config();
  cfg.endpoints.clear();
  EndpointRegistry registry;
  const auto b = build(cfg, tutorial_state(1000), registry);
  EXPECT_TRUE(b.snap->set(SetKind::Stable).empty());
  EXPECT_TRUE(b.snap->set(SetKind::Canary).empty());
  EXPECT_EQ(b.snap->max_endpoint_id, 0u);
  EXPECT_TRUE(b.problems.empty());
}

TEST(RoutingSnapshotTest, RoutingStateChangeKeepsTheSetsAndTakesTheStatesFields) {
  config::Config cfg = tutorial_config();
  cfg.routing.override_header = "X-Force-Set";
  cfg.limits.max_body_bytes = 1048576;
  EndpointRegistry registry;
  const auto before = build(cfg, tutorial_state(1000), registry);
  auto next = tutorial_state(2500);
  next.revision = 8;
  next.aborted = true;
  next.affinity_salt = 42;
  const std::shared_ptr<const RoutingSnapshot> kept = with_routing_state(*before.snap, next);
  const auto fresh = build(cfg, next, registry);
  for (const auto* snap : {kept.get(), fresh.snap.get()}) {
    EXPECT_EQ(snap->canary_weight, 2500u);
    EXPECT_TRUE(snap->canary_aborted);
    EXPECT_EQ(snap->revision, 8u);
    EXPECT_EQ(snap->affinity_salt, 42u);
  }
  EXPECT_EQ(ids(*kept), ids(*fresh.snap));
  EXPECT_EQ(names(kept->set(SetKind::Stable)), names(fresh.snap->set(SetKind::Stable)));
  EXPECT_EQ(names(kept->set(SetKind::Canary)), names(fresh.snap->set(SetKind::Canary)));
  EXPECT_EQ(kept->override_header, "X-Force-Set");
  EXPECT_EQ(kept->limits.max_body_bytes, 1048576u);
  EXPECT_EQ(kept->max_endpoint_id, fresh.snap->max_endpoint_id);
  EXPECT_EQ(kept->live_ids, fresh.snap->live_ids);
  // Sessions key their per-snapshot answers on the serial: a kept snapshot is a new one to them.
  EXPECT_NE(kept->serial, before.snap->serial);
  EXPECT_NE(kept->serial, fresh.snap->serial);
  // The previous snapshot is untouched: workers may still be routing on it.
  EXPECT_EQ(before.snap->canary_weight, 1000u);
  EXPECT_FALSE(before.snap->canary_aborted);
  EXPECT_EQ(before.snap->revision, 7u);
}

TEST(RoutingSnapshotTest, LiveIdsAreTheIdsInASet) {
  EndpointRegistry registry;
  const auto before = build(tutorial_config(), tutorial_state(1000), registry);
  EXPECT_EQ(before.snap->live_ids, (std::vector<bool>{true, true, true, true}));
  // A reload drops 18082 (id 1) and adds 18090 (id 4); an endpoint outside both sets is not live either.
  config::Config reloaded = tutorial_config();
  reloaded.endpoints = {endpoint("127.0.0.1", 18090, kV1), endpoint("127.0.0.1", 18084, kV2),
                        endpoint("127.0.0.1", 18083, kV2), endpoint("127.0.0.1", 18081, kV1),
                        endpoint("127.0.0.1", 18095, {{"name", "apache"}})};
  const auto after = build(reloaded, tutorial_state(1000), registry);
  EXPECT_EQ(after.snap->live_ids, (std::vector<bool>{true, false, true, true, true}));
}

TEST(RoutingSnapshotTest, SetSelectorsChangeOnlyWithTheSets) {
  const auto state = tutorial_state(1000);
  auto weight_only = state;
  weight_only.canary_weight = 5000;
  weight_only.revision = 9;
  weight_only.aborted = true;
  weight_only.affinity_salt = 7;
  EXPECT_EQ(SetSelectors(state), SetSelectors(weight_only));
  auto no_canary = state;
  no_canary.canary.reset();
  EXPECT_NE(SetSelectors(state), SetSelectors(no_canary));
  auto other_canary = state;
  other_canary.canary = sel("version=v3");
  EXPECT_NE(SetSelectors(state), SetSelectors(other_canary));
  auto promoted = state;
  promoted.stable = sel("version=v2");
  EXPECT_NE(SetSelectors(state), SetSelectors(promoted));
}

TEST(RoutingSnapshotTest, HostNamesAreMarkedForResolvingAgain) {
  EndpointRegistry registry;
  EXPECT_FALSE(build(tutorial_config(), tutorial_state(1000), registry).snap->endpoints_by_name);
  config::Config unresolvable = tutorial_config();
  unresolvable.endpoints.push_back(endpoint("nowhere.invalid", 8080, kV1));
  EXPECT_TRUE(build(unresolvable, tutorial_state(1000), registry).snap->endpoints_by_name);
  config::Config named = tutorial_config();
  named.endpoints.push_back(endpoint("localhost", 18092, kV1));
  EXPECT_TRUE(build(named, tutorial_state(1000), registry).snap->endpoints_by_name);
  // Outside both sets, a name is never resolved and changes nothing.
  config::Config outside = tutorial_config();
  outside.endpoints.push_back(endpoint("nowhere.invalid", 8080, {{"name", "apache"}}));
  EXPECT_FALSE(build(outside, tutorial_state(1000), registry).snap->endpoints_by_name);
}

TEST(EndpointRegistryTest, HandsOutOneIdPerDistinctAddress) {
  EndpointRegistry registry;
  EXPECT_EQ(registry.max_id(), 0u);
  EXPECT_EQ(registry.id_for("127.0.0.1:1"), 0u);
  EXPECT_EQ(registry.id_for("127.0.0.1:2"), 1u);
  EXPECT_EQ(registry.id_for("127.0.0.1:1"), 0u);
  EXPECT_EQ(registry.id_for("[::1]:1"), 2u);
  EXPECT_EQ(registry.max_id(), 2u);
}

}  // namespace
}  // namespace canaryd::proxy
