// Unit tests of `canaryctl route`: its options (repeatable --cookie/--header, --client-ip), usage
// errors, the POST /api/explain call it makes, and the line it prints for each reason.
#include <gtest/gtest.h>

#include <sstream>

#include <boost/json.hpp>

#include "ctl/api_call.hpp"
#include "ctl/app.hpp"
#include "ctl/options.hpp"
#include "ctl/route_view.hpp"

namespace canaryd::ctl {
namespace {

std::string usage_error(const std::vector<std::string>& args) {
  auto r = parse_args(args);
  return r ? std::string("<valid>") : r.error().message;
}

TEST(RouteCommandTest, CookiesAndHeadersRepeatInOrder) {
  auto r = parse_args({"route", "--cookie", "user=alice", "--cookie=canary=always", "--header", "X-Canary=never",
                       "--header", "X-User=a=b", "--client-ip", "10.0.0.7"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->command, Command::Route);
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(r->cookies, (Pairs{{"user", "alice"}, {"canary", "always"}}));
  EXPECT_EQ(r->headers, (Pairs{{"X-Canary", "never"}, {"X-User", "a=b"}}));  // split at the first '='
  EXPECT_EQ(r->client_ip, "10.0.0.7");
}

TEST(RouteCommandTest, UsageErrors) {
  EXPECT_EQ(usage_error({"route", "--cookie", "alice"}), "--cookie must be NAME=VALUE, not \"alice\"");
  EXPECT_EQ(usage_error({"route", "--header", "=v"}), "--header must be NAME=VALUE, not \"=v\"");
  EXPECT_EQ(usage_error({"route", "--client-ip", "1.2.3.4", "--client-ip", "5.6.7.8"}),
            "option --client-ip given twice");
  EXPECT_EQ(usage_error({"status", "--cookie", "a=b"}), "option --cookie does not apply to status");
  EXPECT_EQ(usage_error({"route", "extra"}), "route takes no argument, got extra \"extra\"");
  EXPECT_EQ(usage_error({"route"}), "<valid>");  // a bare request: the weight decides
}

TEST(RouteCommandTest, PostsTheRequestToExplain) {
  auto inv = parse_args({"route", "--cookie", "user=alice", "--cookie", "user=bob", "--header", "X-Canary=always",
                         "--client-ip", "::1"});
  ASSERT_TRUE(inv);
  const ApiCall call = build_api_call(*inv, "");
  EXPECT_EQ(call.method, "POST");
  EXPECT_EQ(call.path, "/api/explain");
  // The first value of a name counts, as in the data plane.
  EXPECT_EQ(boost::json::parse(call.body),
            boost::json::parse(R"({"cookies": {"user": "alice"}, "headers": {"X-Canary": "always"},
                                   "client_ip": "::1"})"));
  auto bare = parse_args({"route"});
  ASSERT_TRUE(bare);
  EXPECT_EQ(build_api_call(*bare, "").body, "{}");
}

std::string line(std::string_view json) {
  auto r = parse_route(json);
  if (!r) return "error: " + r.error().message;
  return render_route(*r);
}

TEST(RouteCommandTest, SaysWhichRuleDecided) {
  EXPECT_EQ(line(R"({"set":"canary","reason":"affinity","bucket":1234,"canary_weight":30.0,"canary_probability":1.0})"),
            "canary (affinity: bucket 1234 < 3000, the weight 30% in basis points)\n");
  EXPECT_EQ(line(R"({"set":"stable","reason":"affinity","bucket":3000,"canary_weight":30.0,"canary_probability":0.0})"),
            "stable (affinity: bucket 3000 >= 3000, the weight 30% in basis points)\n");
  EXPECT_EQ(line(R"({"set":"canary","reason":"header","bucket":null,"canary_weight":0.0})"),
            "canary (header: the override header asks for canary)\n");
  EXPECT_EQ(line(R"({"set":"stable","reason":"cookie","bucket":null,"canary_weight":50.0})"),
            "stable (cookie: the override cookie asks for stable)\n");
  EXPECT_EQ(line(R"({"set":"stable","reason":"weight","bucket":null,"canary_weight":12.5,"canary_probability":0.125})"),
            "stable (weight: no override or affinity key; drawn at the weight: canary with probability 12.5%)\n");
  EXPECT_EQ(line(R"({"set":"stable","reason":"aborted","bucket":17,"canary_weight":0.0})"),
            "stable (aborted: the canary was rolled back; nothing reaches it until a weight is set again)\n");
  EXPECT_EQ(line(R"({"set":"stable","reason":"fallback","bucket":null,"canary_weight":100.0})"),
            "stable (fallback: the set first chosen has no healthy endpoint)\n");
  EXPECT_EQ(line(R"({"set":null,"reason":"fallback","bucket":null,"canary_weight":100.0})"),
            "none (fallback: no set has a healthy endpoint; the request gets 503)\n");
  EXPECT_EQ(line(R"({"set":"canary","reason":"affinity","bucket":null,"canary_weight":30.0,"new_cookie":true})"),
            "canary (affinity: a new client: it gets a random affinity cookie, canary with probability 30%)\n");
  EXPECT_EQ(line(R"({"reason":"weight"})"), "error: explain.set is missing");
  // What the server says is made printable before it reaches the terminal.
  EXPECT_EQ(line("{\"set\":\"stable\",\"reason\":\"x\\u001b[2J\"}").find('\x1b'), std::string::npos);
}

class OneAnswer final : public Transport {
 public:
  TransportResult send(const ServerUrl&, const HttpRequest& request) override {
    sent = request;
    return HttpResponse{200, "", R"({"set":"canary","reason":"affinity","bucket":7,"canary_weight":30.0})"};
  }
  HttpRequest sent;
};

TEST(RouteCommandTest, RunPrintsTheLineOrTheServersJson) {
  OneAnswer t;
  std::ostringstream out, err;
  EXPECT_EQ(run({"route", "--cookie", "user=alice"}, {}, t, out, err), kExitOk);
  EXPECT_EQ(out.str(), "canary (affinity: bucket 7 < 3000, the weight 30% in basis points)\n");
  EXPECT_EQ(t.sent.method, "POST");
  EXPECT_EQ(t.sent.target, "/api/explain");
  std::ostringstream json_out;
  EXPECT_EQ(run({"route", "-o", "json"}, {}, t, json_out, err), kExitOk);
  EXPECT_NE(json_out.str().find("\"bucket\":7"), std::string::npos) << json_out.str();
}

}  // namespace
}  // namespace canaryd::ctl
