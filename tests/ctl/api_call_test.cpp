// Unit tests of canaryctl's calls: each command's method, path and body, percents sent as typed, causes.
#include "ctl/api_call.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace canaryd::ctl {
namespace {

ApiCall call_for(const std::vector<std::string>& args) {
  auto r = parse_args(args);
  if (!r.ok()) {
    ADD_FAILURE() << r.error().message;
    return {};
  }
  return build_api_call(r.value());
}

boost::json::value body_of(const ApiCall& c) { return boost::json::parse(c.body); }

TEST(ApiCallTest, ReadsUseGetWithoutBody) {
  auto s = call_for({"status"});
  EXPECT_EQ(s.method, "GET");
  EXPECT_EQ(s.path, "/api/status");
  EXPECT_EQ(s.body, "");
  auto h = call_for({"history"});
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.path, "/api/history");
  EXPECT_EQ(h.body, "");
}

TEST(ApiCallTest, WeightSendsTheNumberAsTypedAndTheCause) {
  auto c = call_for({"-s", "http://h:1", "weight", "33.33"});
  EXPECT_EQ(c.method, "PUT");
  EXPECT_EQ(c.path, "/api/weight");
  EXPECT_EQ(c.body, R"({"canary_weight":33.33,"cause":"canaryctl weight 33.33"})");
  EXPECT_EQ(body_of(c).at("canary_weight").as_double(), 33.33);
}

TEST(ApiCallTest, OutOfRangeWeightIsStillSentForTheServerToRefuse) {
  auto c = call_for({"weight", "200"});
  EXPECT_EQ(body_of(c).at("canary_weight").as_int64(), 200);
}

TEST(ApiCallTest, PromoteAndRollbackCarryTheCause) {
  auto p = call_for({"promote", "--cause", "all green"});
  EXPECT_EQ(p.method, "POST");
  EXPECT_EQ(p.path, "/api/promote");
  EXPECT_EQ(body_of(p), boost::json::parse(R"({"cause": "all green"})"));
  auto r = call_for({"rollback"});
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/api/rollback");
  EXPECT_EQ(body_of(r), boost::json::parse(R"({"cause": "canaryctl rollback"})"));
}

TEST(ApiCallTest, UndoSendsTheOptionalRevisionAndTheCause) {
  auto plain = call_for({"undo"});
  EXPECT_EQ(plain.method, "POST");
  EXPECT_EQ(plain.path, "/api/undo");
  EXPECT_EQ(plain.body, R"({"cause":"canaryctl undo"})");
  EXPECT_EQ(call_for({"undo", "--to-revision", "4"}).body,
            R"({"to_revision":4,"cause":"canaryctl undo --to-revision 4"})");
  EXPECT_EQ(body_of(call_for({"undo", "--cause", "bad v2"})), boost::json::parse(R"({"cause": "bad v2"})"));
}

TEST(ApiCallTest, IfRevisionIsSentWithEveryChange) {
  EXPECT_EQ(call_for({"weight", "5", "--if-revision", "7"}).body,
            R"({"if_revision":7,"canary_weight":5,"cause":"canaryctl weight 5 --if-revision 7"})");
  for (const auto& args : std::vector<std::vector<std::string>>{{"promote", "--if-revision", "7"},
                                                                {"rollback", "--if-revision", "7"},
                                                                {"undo", "--if-revision", "7"},
                                                                {"canary", "version=v3", "--if-revision", "7"},
                                                                {"canary", "--remove", "--if-revision", "7"}}) {
    EXPECT_EQ(body_of(call_for(args)).at("if_revision"), 7) << args[0];
  }
}

TEST(ApiCallTest, CanaryDefinesBySelectorWithOptionalWeight) {
  auto c = call_for({"canary", "version in (v3)", "--weight", "5"});
  EXPECT_EQ(c.method, "PUT");
  EXPECT_EQ(c.path, "/api/canary");
  EXPECT_EQ(body_of(c), boost::json::parse(
                            R"j({"selector": "version in (v3)", "canary_weight": 5,
                                 "cause": "canaryctl canary 'version in (v3)' --weight 5"})j"));
  auto no_weight = body_of(call_for({"canary", "version=v3"})).as_object();
  EXPECT_FALSE(no_weight.contains("canary_weight"));
}

TEST(ApiCallTest, CanaryRemoveIsADeleteWithTheCause) {
  auto c = call_for({"canary", "--remove"});
  EXPECT_EQ(c.method, "DELETE");
  EXPECT_EQ(c.path, "/api/canary");
  EXPECT_EQ(c.body, R"({"cause":"canaryctl canary --remove"})");
}

TEST(ApiCallTest, CausesAreEscapedAsJsonStrings) {
  auto c = call_for({"promote", "--cause", "say \"go\"\n\\"});
  EXPECT_EQ(body_of(c).at("cause").as_string(), "say \"go\"\n\\");
}

TEST(ApiCallTest, PromoteForceSendsForceTrue) {
  auto p = call_for({"promote", "--force"});
  EXPECT_EQ(body_of(p), boost::json::parse(R"({"force": true, "cause": "canaryctl promote --force"})"));
  EXPECT_FALSE(body_of(call_for({"promote"})).as_object().contains("force"));
}

TEST(ApiCallTest, ForceAppliesOnlyToPromote) {
  EXPECT_FALSE(parse_args({"rollback", "--force"}).ok());
  EXPECT_FALSE(parse_args({"weight", "10", "--force"}).ok());
}

}  // namespace
}  // namespace canaryd::ctl
