// The data plane of targeting (contract section 8): cookies and the affinity header read from the
// request head in place, the override sources matched against the TCP peer, the routing hints through
// the one precedence (choose_set -> weights::decide_route), X-Canary-Reason and the affinity cookie's
// Set-Cookie, and the decisions counted by reason.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

#include "proxy/dataplane/routing_snapshot.hpp"
#include "proxy/dataplane/set_choice.hpp"
#include "proxy/dataplane/worker_metrics.hpp"
#include "proxy/http/cookies.hpp"
#include "proxy/http/head_rewrite.hpp"
#include "proxy/http/local_reply.hpp"
#include "proxy/http/request_validator.hpp"
#include "weights/affinity.hpp"

namespace canaryd::proxy {
namespace {

using weights::RouteReason;

bool points_into(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

TEST(CookieTest, FindsTheNamedCookieAmongSeveral) {
  EXPECT_EQ(find_cookie("a=1; b=2; c=3", "b"), "2");
  EXPECT_EQ(find_cookie("a=1;b=2", "b"), "2") << "no space after ';'";
  EXPECT_EQ(find_cookie("  a = 1 ;\tb=2  ", "a"), "1") << "whitespace around names and values";
  EXPECT_EQ(find_cookie("a=1", "a"), "1");
  EXPECT_EQ(find_cookie("a=", "a"), "");
  EXPECT_EQ(find_cookie("a=x=y", "a"), "x=y") << "only the first '=' separates";
}

TEST(CookieTest, QuotedValuesLoseTheirQuotes) {
  EXPECT_EQ(find_cookie("u=\"abc\"; v=1", "u"), "abc");
  EXPECT_EQ(find_cookie("u=\"", "u"), "\"") << "a lone quote is the value";
}

TEST(CookieTest, MissingNamesAndPrefixesAreNotFound) {
  EXPECT_EQ(find_cookie("", "a"), std::nullopt);
  EXPECT_EQ(find_cookie("ab=1; ba=2", "a"), std::nullopt);
  EXPECT_EQ(find_cookie("a; b=2", "a"), std::nullopt) << "a pair without '=' names no cookie";
  EXPECT_EQ(find_cookie("A=1", "a"), std::nullopt) << "cookie names are case-sensitive";
}

TEST(CookieTest, TheFirstOfDuplicatesWins) { EXPECT_EQ(find_cookie("a=1; a=2", "a"), "1"); }

std::string head(std::initializer_list<std::string_view> fields) {
  std::string h = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (auto f : fields) (h += f) += "\r\n";
  return h + "\r\n";
}

TEST(CookieTest, RequestCheckReadsCookiesAcrossSeveralCookieFields) {
  const std::string block = head({"Cookie: x=0; canary=always", "cookie: user=u1; canary=never", "Cookie: user=u2"});
  const RequestCheck r = check_request_head(block, RouteFieldNames{"X-Canary", "canary", "user", {}});
  ASSERT_EQ(r.status, 0) << r.reason;
  ASSERT_TRUE(r.override_cookie);
  EXPECT_EQ(*r.override_cookie, "always") << "the first field holding the cookie wins";
  ASSERT_TRUE(r.affinity_key);
  EXPECT_EQ(*r.affinity_key, "u1");
  EXPECT_TRUE(points_into(*r.override_cookie, block));
  EXPECT_TRUE(points_into(*r.affinity_key, block));
  EXPECT_FALSE(r.has_override);
}

TEST(CookieTest, RequestCheckReadsTheAffinityHeaderAndNothingUnasked) {
  const std::string block = head({"X-User: alice", "x-user: bob", "Cookie: canary=always"});
  RequestCheck r = check_request_head(block, RouteFieldNames{{}, {}, {}, "X-User"});
  ASSERT_TRUE(r.affinity_key);
  EXPECT_EQ(*r.affinity_key, "alice");
  EXPECT_FALSE(r.override_cookie) << "no override cookie configured";
  r = check_request_head(block, RouteFieldNames{});
  EXPECT_FALSE(r.affinity_key);
  r = check_request_head(head({"Host2: b"}), RouteFieldNames{"X-Canary", "canary", "user", {}});
  EXPECT_FALSE(r.override_cookie);
  EXPECT_FALSE(r.affinity_key);
}

TEST(CookieTest, SetCookieTextAndFreshValues) {
  std::string out;
  append_set_cookie(out, "canaryd_user", "00ff");
  EXPECT_EQ(out, "Set-Cookie: canaryd_user=00ff; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax\r\n");
  EXPECT_EQ(kAffinityCookieMaxAge, 30u * 24 * 3600);
  EXPECT_EQ(make_cookie_value(0x0123456789abcdefull, 0xfedcba9876543210ull).view(),
            "0123456789abcdeffedcba9876543210");
}

TEST(CookieTest, ClientResponseCarriesTheReasonAndTheCookie) {
  const std::string upstream = "HTTP/1.1 200 OK\r\nX-Canary-Reason: forged\r\nContent-Length: 0\r\n\r\n";
  const ResponseHead response = parse_response_head(upstream);
  ASSERT_EQ(response.error, nullptr);
  ClientResponseRewrite rw;
  rw.set_header = "X-Canary-Set";
  rw.set_name = "canary";
  rw.reason = "affinity";
  rw.set_cookie_name = "u";
  rw.set_cookie_value = "abc";
  std::string out;
  write_client_response(upstream, response, rw, out);
  EXPECT_NE(out.find("X-Canary-Set: canary\r\nX-Canary-Reason: affinity\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("forged"), std::string::npos) << "the upstream's own reason field is replaced";
  EXPECT_NE(out.find("Set-Cookie: u=abc; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax\r\n"), std::string::npos);
  rw = ClientResponseRewrite{};
  write_client_response(upstream, response, rw, out);
  EXPECT_EQ(out.find("Set-Cookie"), std::string::npos);
  EXPECT_NE(out.find("forged"), std::string::npos) << "without reason, the upstream's field passes";
}

TEST(CookieTest, LocalReplyCarriesTheReason) {
  std::string out;
  render_local_reply({502, "bad gateway"}, {true, "X-Canary-Set", "stable", "fallback"}, out);
  EXPECT_NE(out.find("X-Canary-Set: stable\r\nX-Canary-Reason: fallback\r\n"), std::string::npos) << out;
}

config::Cidr cidr(std::string_view text) {
  auto c = config::Cidr::parse(text);
  EXPECT_TRUE(c) << text;
  return c ? *c : config::Cidr{};
}

boost::asio::ip::address ip(const char* text) { return boost::asio::ip::make_address(text); }

TEST(OverrideSourcesTest, EmptyMeansEveryClient) {
  RoutingSnapshot s;
  EXPECT_TRUE(s.override_allowed(ip("203.0.113.9")));
  EXPECT_TRUE(s.override_allowed(ip("2001:db8::1")));
}

TEST(OverrideSourcesTest, MatchesThePeerAgainstEachBlock) {
  RoutingSnapshot s;
  s.override_sources = {cidr("10.0.0.0/8"), cidr("::1/128")};
  EXPECT_TRUE(s.override_allowed(ip("10.1.2.3")));
  EXPECT_FALSE(s.override_allowed(ip("11.0.0.1")));
  EXPECT_TRUE(s.override_allowed(ip("::1")));
  EXPECT_FALSE(s.override_allowed(ip("::2")));
  EXPECT_TRUE(s.override_allowed(ip("::ffff:10.9.8.7"))) << "an IPv4-mapped IPv6 peer matches IPv4 blocks";
  EXPECT_FALSE(s.override_allowed(ip("::ffff:127.0.0.1")));
}

config::Config targeting_config(config::Affinity::Key key, std::string name, std::string set_cookie) {
  config::Config cfg;
  cfg.routing.override_cookie = "canary";
  cfg.routing.affinity.key = key;
  cfg.routing.affinity.name = std::move(name);
  cfg.routing.affinity.set_cookie = std::move(set_cookie);
  return cfg;
}

using Key = config::Affinity::Key;

TEST(TargetingSnapshotTest, CarriesTheAffinityKeyPrecomputed) {
  EndpointRegistry registry;
  std::vector<std::string> problems;
  weights::RoutingState st;
  st.affinity_salt = 42;
  auto s = build_snapshot(targeting_config(Key::Cookie, "user", "user"), st, registry, problems);
  EXPECT_EQ(s->affinity_kind, AffinityKind::Cookie);
  EXPECT_EQ(s->affinity_name, "user");
  EXPECT_EQ(s->set_cookie, "user");
  EXPECT_EQ(s->affinity_salt, 42u);
  EXPECT_EQ(s->route_fields().affinity_cookie, "user");
  EXPECT_EQ(s->route_fields().override_cookie, "canary");
  EXPECT_EQ(s->route_fields().affinity_header, "");
  s = build_snapshot(targeting_config(Key::Header, "X-User", ""), st, registry, problems);
  EXPECT_EQ(s->affinity_kind, AffinityKind::Header);
  EXPECT_EQ(s->route_fields().affinity_header, "X-User");
  EXPECT_EQ(s->route_fields().affinity_cookie, "");
  s = build_snapshot(targeting_config(Key::ClientIp, "", ""), st, registry, problems);
  EXPECT_EQ(s->affinity_kind, AffinityKind::ClientIp);
  s = build_snapshot(targeting_config(Key::None, "", ""), st, registry, problems);
  EXPECT_EQ(s->affinity_kind, AffinityKind::None);
  const auto other = build_snapshot(targeting_config(Key::None, "", ""), st, registry, problems);
  EXPECT_NE(s->serial, other->serial) << "each snapshot has its own serial";
}

RoutingSnapshot two_sets(config::BasisPoints weight, bool aborted = false) {
  RoutingSnapshot s;
  s.sets[0].push_back(UpstreamEndpoint{0, {}, "s", true, nullptr});
  s.sets[1].push_back(UpstreamEndpoint{1, {}, "c", true, nullptr});
  s.canary_weight = weight;
  s.canary_aborted = aborted;
  return s;
}

TEST(TargetingChoiceTest, AffinityPlacesByBucketWithoutDrawing) {
  weights::Splitter splitter;
  const RoutingSnapshot s = two_sets(3000);
  SetChoice c = choose_set(s, {ForcedSet::None, ForcedSet::None, 2999u}, splitter);
  EXPECT_EQ(c.set, SetKind::Canary);
  EXPECT_EQ(c.reason, RouteReason::Affinity);
  EXPECT_TRUE(c.weight_placed) << "affinity-placed requests are rollout evidence";
  c = choose_set(s, {ForcedSet::None, ForcedSet::None, 3000u}, splitter);
  EXPECT_EQ(c.set, SetKind::Stable);
  // The splitter saw none of the keyed requests: at 30 % its first draw is stable, the fourth canary.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(choose_set(s, {}, splitter).set, SetKind::Stable);
  c = choose_set(s, {}, splitter);
  EXPECT_EQ(c.set, SetKind::Canary);
  EXPECT_EQ(c.reason, RouteReason::Weight);
}

TEST(TargetingChoiceTest, OverridesBeatTheKeyAndAreNotEvidence) {
  weights::Splitter splitter;
  const RoutingSnapshot s = two_sets(3000);
  SetChoice c = choose_set(s, {ForcedSet::None, ForcedSet::Canary, 9999u}, splitter);
  EXPECT_EQ(c.set, SetKind::Canary);
  EXPECT_EQ(c.reason, RouteReason::Cookie);
  EXPECT_FALSE(c.weight_placed);
  c = choose_set(s, {ForcedSet::Stable, ForcedSet::Canary, 0u}, splitter);
  EXPECT_EQ(c.set, SetKind::Stable);
  EXPECT_EQ(c.reason, RouteReason::Header);
}

TEST(TargetingChoiceTest, AnAbortedCanaryGetsNoKeyedOrForcedRequest) {
  weights::Splitter splitter;
  const RoutingSnapshot s = two_sets(10000, true);
  for (std::uint32_t bucket : {0u, 5000u, 9999u}) {
    const SetChoice c = choose_set(s, {ForcedSet::Canary, ForcedSet::Canary, bucket}, splitter);
    EXPECT_EQ(c.set, SetKind::Stable);
    EXPECT_EQ(c.reason, RouteReason::Aborted);
    EXPECT_FALSE(c.weight_placed);
  }
}

TEST(TargetingChoiceTest, AKeyFallsBackWhenItsSetHasNoHealthyEndpoint) {
  weights::Splitter splitter;
  RoutingSnapshot s = two_sets(5000);
  s.sets[1][0].healthy = false;
  const SetChoice c = choose_set(s, {ForcedSet::None, ForcedSet::None, 0u}, splitter);
  EXPECT_EQ(c.set, SetKind::Stable);
  EXPECT_TRUE(c.fell_back);
  EXPECT_EQ(c.reason, RouteReason::Fallback);
}

TEST(TargetingChoiceTest, OverrideValuesOtherThanAlwaysOrNeverAskNothing) {
  EXPECT_EQ(forced_set(std::optional<std::string_view>("ALWAYS")), ForcedSet::Canary);
  EXPECT_EQ(forced_set(std::optional<std::string_view>("never")), ForcedSet::Stable);
  EXPECT_EQ(forced_set(std::optional<std::string_view>("yes")), ForcedSet::None);
  EXPECT_EQ(forced_set(std::optional<std::string_view>()), ForcedSet::None);
}

TEST(TargetingMetricsTest, DecisionsAreCountedBySetAndReason) {
  WorkerMetrics m;
  m.record_decision(SetKind::Canary, RouteReason::Cookie);
  m.record_decision(SetKind::Canary, RouteReason::Cookie);
  m.record_decision(SetKind::Stable, RouteReason::Aborted);
  EXPECT_EQ(m.decisions(1, static_cast<std::size_t>(RouteReason::Cookie)), 2u);
  EXPECT_EQ(m.decisions(0, static_cast<std::size_t>(RouteReason::Aborted)), 1u);
  EXPECT_EQ(m.decisions(1, static_cast<std::size_t>(RouteReason::Affinity)), 0u);
  EXPECT_EQ(weights::reason_name(static_cast<RouteReason>(kRouteReasons - 1)), std::string_view("aborted"));
}

}  // namespace
}  // namespace canaryd::proxy
