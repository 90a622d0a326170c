// Unit tests of POST /api/explain's logic: the strict body, each reason as decide_route gives it for the
// described request (overrides from allowed sources only, case rules, the affinity bucket of the state's
// salt, the weight's draw and its probability, fallback, abort beating everything), the answer's JSON,
// and the call through ControlApi (a read: no revision, no change).
#include "weights/explain.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "tests/weights/test_support.hpp"
#include "weights/affinity.hpp"
#include "weights/control_api.hpp"

namespace canaryd::weights {
namespace {

using test_support::at;
using test_support::sel;
namespace json = boost::json;

ExplainRequest request(std::string_view body) {
  auto r = parse_explain_request(body);
  EXPECT_TRUE(r) << body << ": " << (r ? "" : r.error().message);
  return r ? *r : ExplainRequest{};
}

std::string refusal(std::string_view body) {
  auto r = parse_explain_request(body);
  return r ? std::string("<valid>") : r.error().message;
}

TEST(ExplainRequestTest, ReadsCookiesHeadersAndTheClientAddress) {
  const auto r = request(R"({"cookies": {"user": "alice", "b": ""}, "headers": {"X-Canary": "always"},
                             "client_ip": "10.1.2.3"})");
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(r.cookies, (Pairs{{"user", "alice"}, {"b", ""}}));
  EXPECT_EQ(r.headers, (Pairs{{"X-Canary", "always"}}));
  EXPECT_EQ(r.client_ip, "10.1.2.3");
  // A dual-stack listener's IPv4 client is the same client.
  EXPECT_EQ(request(R"({"client_ip": "::ffff:10.1.2.3"})").client_ip, "10.1.2.3");
  EXPECT_EQ(request(R"({"client_ip": "2001:DB8::1"})").client_ip, "2001:db8::1");
  EXPECT_FALSE(request("").client_ip);
  EXPECT_FALSE(request(R"({"client_ip": null})").client_ip);
  EXPECT_TRUE(request("{}").cookies.empty());
}

TEST(ExplainRequestTest, IsStrict) {
  EXPECT_EQ(refusal(R"({"cookie": {}})"), "unknown field \"cookie\"");
  EXPECT_EQ(refusal(R"({"cause": "x"})"), "unknown field \"cause\"");  // a read: no cause
  EXPECT_EQ(refusal(R"({"cookies": ["a"]})"), "cookies must be an object of strings");
  EXPECT_EQ(refusal(R"({"headers": {"X": 1}})"), "headers.X must be a string");
  EXPECT_EQ(refusal(R"({"headers": {"": "v"}})"), "headers: a name must not be empty");
  EXPECT_EQ(refusal(R"({"client_ip": "10.0.0.300"})"), "client_ip: not an IPv4 or IPv6 address: 10.0.0.300");
  EXPECT_EQ(refusal(R"({"client_ip": 7})"), "client_ip must be a string");
  EXPECT_EQ(refusal("[]"), "request body must be a JSON object");
  EXPECT_NE(refusal(R"({"cookies": {"a": "1", "a": "2"}})").find("duplicate key"), std::string::npos);
  EXPECT_NE(refusal("{").find("JSON"), std::string::npos);
  const std::string big(kMaxExplainText + 1, 'x');
  EXPECT_EQ(refusal(R"({"cookies": {"a": ")" + big + "\"}}"),
            "cookies.a: names and values are at most 4096 bytes");
  std::string many = R"({"headers": {)";
  for (std::size_t i = 0; i <= kMaxExplainEntries; ++i) many += (i ? "," : "") + ("\"h" + std::to_string(i) + "\":\"v\"");
  EXPECT_EQ(refusal(many + "}}"), "headers: at most 64 entries");
}

/// A canary at 30 % with a known salt, both sets healthy.
RoutingState state_at(config::BasisPoints weight, bool aborted = false) {
  RoutingState s;
  s.stable = sel("version=v1");
  s.canary = sel("version=v2");
  s.canary_weight = weight;
  s.aborted = aborted;
  s.affinity_salt = 0x5eed5eed12345678ull;
  return s;
}

ExplainRules rules() {
  ExplainRules r;
  r.override_header = "X-Canary";
  r.override_cookie = "canary";
  r.affinity = AffinityKind::Cookie;
  r.affinity_name = "user";
  return r;
}

constexpr SetHealth kHealthy{true, true};

Explanation explained(std::string_view body, const ExplainRules& r = rules(), const RoutingState& s = state_at(3000),
                      SetHealth h = kHealthy, std::uint32_t draw = 0) {
  return explain(request(body), r, s, h, draw);
}

TEST(ExplainTest, TheOverrideHeaderBeatsTheCookieAndTheKey) {
  const auto e = explained(R"({"headers": {"x-canary": " NEVER "}, "cookies": {"canary": "always", "user": "a"}})");
  EXPECT_EQ(e.decision.set, RouteSet::Stable);
  EXPECT_EQ(e.decision.reason, RouteReason::Header);
  EXPECT_FALSE(e.decision.evidence);
  EXPECT_EQ(e.canary_probability, 0.0);
  EXPECT_TRUE(e.bucket);  // the key's bucket is shown even when an override decided
}

TEST(ExplainTest, TheOverrideCookieBeatsTheKeyAndItsNameIsCaseSensitive) {
  auto e = explained(R"({"cookies": {"canary": "Always", "user": "a"}})");
  EXPECT_EQ(e.decision.set, RouteSet::Canary);
  EXPECT_EQ(e.decision.reason, RouteReason::Cookie);
  EXPECT_EQ(e.canary_probability, 1.0);
  e = explained(R"({"cookies": {"Canary": "always"}})", rules(), state_at(3000), kHealthy, 9999);
  EXPECT_EQ(e.decision.reason, RouteReason::Weight);
  // A value other than always|never asks nothing.
  e = explained(R"({"headers": {"X-Canary": "yes"}, "cookies": {"user": "a"}})");
  EXPECT_EQ(e.decision.reason, RouteReason::Affinity);
}

TEST(ExplainTest, OverridesCountOnlyFromTheSourcesAndWithoutAnAddressNever) {
  ExplainRules r = rules();
  r.override_sources = {*config::Cidr::parse("10.0.0.0/8"), *config::Cidr::parse("2001:db8::/32")};
  const std::string forced = R"("headers": {"X-Canary": "always"}, "cookies": {"canary": "always"})";
  auto e = explained("{" + forced + R"(, "client_ip": "10.9.8.7"})", r, state_at(0));
  EXPECT_EQ(e.decision.reason, RouteReason::Header);
  EXPECT_EQ(e.decision.set, RouteSet::Canary);
  EXPECT_EQ(explained("{" + forced + R"(, "client_ip": "::ffff:10.1.1.1"})", r, state_at(0)).decision.reason,
            RouteReason::Header);
  EXPECT_EQ(explained("{" + forced + R"(, "client_ip": "2001:db8::5"})", r, state_at(0)).decision.reason,
            RouteReason::Header);
  // From elsewhere, or from nowhere said: ignored; the rest decides (here the weight 0).
  for (const char* ip : {R"(, "client_ip": "192.0.2.1")", R"(, "client_ip": "2001:db9::5")", ""}) {
    e = explained("{" + forced + ip + "}", r, state_at(0));
    EXPECT_EQ(e.decision.reason, RouteReason::Weight) << ip;
    EXPECT_EQ(e.decision.set, RouteSet::Stable) << ip;
  }
}

TEST(ExplainTest, RulesComeFromTheConfig) {
  config::Routing routing;
  routing.override_cookie = "canary";
  routing.override_sources = {*config::Cidr::parse("127.0.0.1")};
  routing.affinity.key = config::Affinity::Key::Header;
  routing.affinity.name = "X-User";
  const ExplainRules r = explain_rules(routing);
  EXPECT_EQ(r.override_header, "X-Canary");
  EXPECT_EQ(r.override_cookie, "canary");
  EXPECT_EQ(r.override_sources, routing.override_sources);
  EXPECT_EQ(r.affinity, AffinityKind::Header);
  EXPECT_EQ(r.affinity_name, "X-User");
  EXPECT_EQ(r.set_cookie, "");
}

TEST(ExplainTest, TheKeyGoesToCanaryExactlyBelowTheWeightWithTheStatesSalt) {
  const RoutingState s = state_at(3000);
  for (const char* user : {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}) {
    const auto e = explained(std::string(R"({"cookies": {"user": ")") + user + "\"}}");
    const std::uint32_t bucket = affinity_bucket(user, s.affinity_salt);
    ASSERT_EQ(e.bucket, bucket) << user;
    EXPECT_EQ(e.decision.reason, RouteReason::Affinity);
    EXPECT_EQ(e.decision.set, bucket < 3000 ? RouteSet::Canary : RouteSet::Stable) << user;
    EXPECT_EQ(e.canary_probability, bucket < 3000 ? 1.0 : 0.0);
    EXPECT_TRUE(e.decision.evidence);
  }
  // Header and client_ip keys.
  ExplainRules by_header = rules();
  by_header.affinity = AffinityKind::Header;
  by_header.affinity_name = "X-User";
  EXPECT_EQ(explained(R"({"headers": {"x-user": "alice"}})", by_header).bucket, affinity_bucket("alice", s.affinity_salt));
  ExplainRules by_ip = rules();
  by_ip.affinity = AffinityKind::ClientIp;
  EXPECT_EQ(explained(R"({"client_ip": "::ffff:192.0.2.7"})", by_ip).bucket,
            affinity_bucket("192.0.2.7", s.affinity_salt));
  EXPECT_FALSE(explained("{}", by_ip).bucket);
}

TEST(ExplainTest, WithoutAKeyTheWeightDrawsAndTheAnswerSaysHowLikely) {
  auto e = explained(R"({"cookies": {"other": "x"}})", rules(), state_at(3000), kHealthy, 2999);
  EXPECT_EQ(e.decision.reason, RouteReason::Weight);
  EXPECT_EQ(e.decision.set, RouteSet::Canary);
  EXPECT_FALSE(e.bucket);
  EXPECT_DOUBLE_EQ(e.canary_probability, 0.3);
  e = explained("{}", rules(), state_at(3000), kHealthy, 3000);
  EXPECT_EQ(e.decision.set, RouteSet::Stable);
  EXPECT_DOUBLE_EQ(e.canary_probability, 0.3);
  EXPECT_FALSE(e.new_cookie);
}

TEST(ExplainTest, SetCookieGivesANewClientARandomKey) {
  ExplainRules r = rules();
  r.set_cookie = "user";
  auto e = explained("{}", r, state_at(2500), kHealthy, 100);
  EXPECT_TRUE(e.new_cookie);
  EXPECT_EQ(e.decision.reason, RouteReason::Affinity);
  EXPECT_EQ(e.decision.set, RouteSet::Canary);
  EXPECT_FALSE(e.bucket);
  EXPECT_DOUBLE_EQ(e.canary_probability, 0.25);
  EXPECT_FALSE(explained(R"({"cookies": {"user": "a"}})", r).new_cookie);
}

TEST(ExplainTest, AnUnhealthySetFallsBackAndNoneHealthyIsNoSet) {
  auto e = explained(R"({"headers": {"X-Canary": "always"}})", rules(), state_at(3000), SetHealth{true, false});
  EXPECT_EQ(e.decision.set, RouteSet::Stable);
  EXPECT_EQ(e.decision.reason, RouteReason::Fallback);
  EXPECT_EQ(e.canary_probability, 0.0);
  // Without a key the draw may pick either; with the canary down both ends land on stable.
  e = explained("{}", rules(), state_at(3000), SetHealth{true, false}, 0);
  EXPECT_EQ(e.decision.set, RouteSet::Stable);
  EXPECT_EQ(e.canary_probability, 0.0);
  e = explained("{}", rules(), state_at(3000), SetHealth{false, false}, 0);
  EXPECT_EQ(e.decision.set, RouteSet::None);
  EXPECT_EQ(render_explanation(e).find("\"set\":null"), 1u);
}

TEST(ExplainTest, AbortBeatsEveryOverrideAndKey) {
  for (const char* body : {R"({"headers": {"X-Canary": "always"}})", R"({"cookies": {"canary": "always"}})",
                           R"({"cookies": {"user": "alice"}})", "{}"}) {
    for (std::uint32_t draw : {0u, 9999u}) {
      const auto e = explained(body, rules(), state_at(10000, true), kHealthy, draw);
      EXPECT_EQ(e.decision.set, RouteSet::Stable) << body;
      EXPECT_EQ(e.decision.reason, RouteReason::Aborted) << body;
      EXPECT_EQ(e.canary_probability, 0.0) << body;
    }
  }
}

TEST(ExplainTest, WithoutACanaryEverythingIsStable) {
  RoutingState s = state_at(0);
  s.canary.reset();
  const auto e = explained(R"({"headers": {"X-Canary": "always"}})", rules(), s, kHealthy);
  EXPECT_EQ(e.decision.set, RouteSet::Stable);
  EXPECT_EQ(e.decision.reason, RouteReason::Fallback);
}

TEST(ExplainTest, TheAnswersJson) {
  const auto e = explained(R"({"cookies": {"user": "alice"}})");
  const json::value v = json::parse(render_explanation(e));
  EXPECT_EQ(v.at("reason"), "affinity");
  EXPECT_EQ(v.at("set"), e.decision.set == RouteSet::Canary ? "canary" : "stable");
  EXPECT_EQ(v.at("bucket").to_number<std::uint32_t>(), *e.bucket);
  EXPECT_EQ(v.at("canary_weight").to_number<double>(), 30.0);
  EXPECT_EQ(v.at("new_cookie"), false);
  EXPECT_TRUE(json::parse(render_explanation(explained("{}"))).at("bucket").is_null());
}

TEST(ExplainTest, SetHealthReadsTheViewWithTheServiceSelector) {
  ServiceView view;
  view.service_selector = sel("name=nginx");
  view.endpoints = {{"a:1", {{"name", "nginx"}, {"version", "v1"}}, true, ""},
                    {"b:1", {{"name", "nginx"}, {"version", "v2"}}, false, ""},
                    {"c:1", {{"name", "other"}, {"version", "v2"}}, true, ""}};
  const SetHealth h = set_health(state_at(3000), view);
  EXPECT_TRUE(h.stable);
  EXPECT_FALSE(h.canary);  // the healthy v2 is not of the service
  view.endpoints[1].healthy = true;
  EXPECT_TRUE(set_health(state_at(3000), view).canary);
}

TEST(ExplainApiTest, IsAReadThatChangesNothing) {
  RoutingState s = state_at(3000);
  s.cause = "initial";
  s.time = at(0);
  test_support::TempDir dir;
  ControlService service(RoutingHistory(s, 10), StateStore(dir.path() + "/state.json"));
  ServiceView view;
  view.service_selector = sel("name=nginx");
  view.endpoints = {{"a:1", {{"name", "nginx"}, {"version", "v1"}}, true, ""},
                    {"b:1", {{"name", "nginx"}, {"version", "v2"}}, true, ""}};
  ControlApi api(service, "", [&view] { return view; });
  api.set_explain_rules([] { return rules(); });
  const auto call = [&api](std::string method, std::string body) {
    return test_support::completed_at_once<ApiReply>([&](auto done) {
      api.handle(ApiRequest{method, "/api/explain", body, ""}, at(1), std::move(done));
    });
  };
  const ApiReply reply = call("POST", R"({"headers": {"X-Canary": "always"}})");
  EXPECT_EQ(reply.status, 200) << reply.body;
  const json::value v = json::parse(reply.body);
  EXPECT_EQ(v.at("set"), "canary");
  EXPECT_EQ(v.at("reason"), "header");
  ASSERT_TRUE(reply.change);
  EXPECT_EQ(reply.change->revision_before, reply.change->revision_after);
  EXPECT_EQ(service.current().revision, s.revision);
  EXPECT_EQ(call("POST", R"({"nope": 1})").status, 400);
  EXPECT_EQ(call("GET", "").status, 405);
  EXPECT_EQ(call("POST", "").status, 200);  // a bare request
}

}  // namespace
}  // namespace canaryd::weights
