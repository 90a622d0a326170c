// Unit tests of the targeting keys of `routing:` (contract section 8): override_cookie,
// override_sources, affinity.key and affinity.set_cookie, their defaults and every refusal with its
// field path.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "tests/config/minimal_config.hpp"

namespace canaryd::config {
namespace {


/// The config with `routing` (YAML flow map text) appended.
LoadResult load_routing(const std::string& routing) {
  return test_support::load_minimal_with("routing: " + routing + "\n");
}

Routing routing_of(const std::string& routing) {
  const LoadResult r = load_routing(routing);
  EXPECT_TRUE(r.ok()) << routing << ": " << (r ? "" : r.error().front());
  return r ? r->routing : Routing{};
}

/// The one error loading `routing` gives.
std::string error_of(const std::string& routing) {
  const LoadResult r = load_routing(routing);
  if (r) return "(loaded)";
  EXPECT_EQ(r.error().size(), 1u) << r.error().front();
  return r.error().front();
}

TEST(TargetingConfigTest, DefaultsTargetNobody) {
  const auto c = test_support::load_minimal_with("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->routing.override_cookie, "");
  EXPECT_TRUE(c->routing.override_sources.empty());
  EXPECT_EQ(c->routing.affinity.key, Affinity::Key::None);
  EXPECT_EQ(c->routing.affinity.name, "");
  EXPECT_EQ(c->routing.affinity.set_cookie, "");
}

TEST(TargetingConfigTest, ReadsEveryKey) {
  const Routing r = routing_of(
      "{override_cookie: canary, override_sources: [10.0.0.0/8, \"::1/128\", 192.0.2.7], "
      "affinity: {key: \"cookie:uid\", set_cookie: uid}}");
  EXPECT_EQ(r.override_cookie, "canary");
  ASSERT_EQ(r.override_sources.size(), 3u);
  EXPECT_EQ(r.override_sources[0].to_string(), "10.0.0.0/8");
  EXPECT_EQ(r.override_sources[1].to_string(), "::1/128");
  EXPECT_EQ(r.override_sources[2].to_string(), "192.0.2.7/32");
  EXPECT_EQ(r.affinity, (Affinity{Affinity::Key::Cookie, "uid", "uid"}));
  EXPECT_EQ(r.override_header, "X-Canary");  // untouched keys keep their defaults
}

TEST(TargetingConfigTest, ReadsEachAffinityKeyKind) {
  EXPECT_EQ(routing_of("{affinity: {key: \"header:X-User\"}}").affinity, (Affinity{Affinity::Key::Header, "X-User", ""}));
  EXPECT_EQ(routing_of("{affinity: {key: client_ip}}").affinity, (Affinity{Affinity::Key::ClientIp, "", ""}));
  EXPECT_EQ(routing_of("{affinity: {key: \"\"}}").affinity, Affinity{});
  EXPECT_EQ(routing_of("{affinity: {}}").affinity, Affinity{});
  EXPECT_EQ(routing_of("{affinity: }").affinity, Affinity{});
  EXPECT_TRUE(routing_of("{override_sources: []}").override_sources.empty());
}

TEST(TargetingConfigTest, RefusesABadAffinityKey) {
  for (const char* bad : {"cookie:", "header:", "cookie", "ip", "client_ip:x", "cookie:a b", "query:uid", "Cookie:uid"}) {
    EXPECT_EQ(error_of(std::string("{affinity: {key: \"") + bad + "\"}}"),
              std::string("t.yaml: routing.affinity.key: must be \"cookie:NAME\", \"header:NAME\", \"client_ip\" or "
                          "\"\" (none), got \"") + bad + "\"");
  }
  EXPECT_EQ(error_of("{affinity: {key: [a]}}").rfind("t.yaml: routing.affinity.key: ", 0), 0u);
  EXPECT_EQ(error_of("{affinity: {keys: client_ip}}").rfind("t.yaml: routing.affinity.keys: ", 0), 0u);
  EXPECT_EQ(error_of("{affinity: client_ip}").rfind("t.yaml: routing.affinity: ", 0), 0u);
}

TEST(TargetingConfigTest, SetCookieNeedsTheSameCookieAsKey) {
  const std::string expected =
      "t.yaml: routing.affinity.set_cookie: names the cookie canaryd sets for affinity, so affinity.key must be "
      "\"cookie:uid\"";
  EXPECT_EQ(error_of("{affinity: {set_cookie: uid}}"), expected);
  EXPECT_EQ(error_of("{affinity: {key: \"cookie:user\", set_cookie: uid}}"), expected);
  EXPECT_EQ(error_of("{affinity: {key: \"header:uid\", set_cookie: uid}}"), expected);
  EXPECT_EQ(error_of("{affinity: {key: client_ip, set_cookie: uid}}"), expected);
  EXPECT_EQ(routing_of("{affinity: {key: client_ip, set_cookie: \"\"}}").affinity.set_cookie, "");
  EXPECT_EQ(error_of("{affinity: {key: \"cookie:uid\", set_cookie: \"u id\"}}").rfind(
                "t.yaml: routing.affinity.set_cookie: must be a cookie name", 0),
            0u);
}

TEST(TargetingConfigTest, RefusesABadOverrideCookie) {
  EXPECT_EQ(error_of("{override_cookie: \"can ary\"}").rfind("t.yaml: routing.override_cookie: must be a cookie name", 0), 0u);
  EXPECT_EQ(error_of("{override_cookie: \"a=b\"}").rfind("t.yaml: routing.override_cookie: must be a cookie name", 0), 0u);
  EXPECT_EQ(routing_of("{override_cookie: \"\"}").override_cookie, "");
}

TEST(TargetingConfigTest, NamesTheBadOverrideSource) {
  EXPECT_EQ(error_of("{override_sources: [10.0.0.0/8, 10.0.0.0/33]}").rfind("t.yaml: routing.override_sources[1]: ", 0), 0u);
  EXPECT_EQ(error_of("{override_sources: [10.1.0.0/8]}").rfind("t.yaml: routing.override_sources[0]: has bits set", 0), 0u);
  EXPECT_EQ(error_of("{override_sources: [localhost]}").rfind("t.yaml: routing.override_sources[0]: must be an IPv4", 0), 0u);
  EXPECT_EQ(error_of("{override_sources: 10.0.0.0/8}").rfind("t.yaml: routing.override_sources: must be a list", 0), 0u);
  // Every bad entry is reported, not only the first.
  const auto r = load_routing("{override_sources: [x, 10.0.0.0/8, y]}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().size(), 2u);
}

}  // namespace
}  // namespace canaryd::config
