// Unit tests of the control API without sockets: every call's answers and refusals, auth, bodies, causes,
// if_revision, history, durability before the answer.
#include "weights/control_api.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "tests/weights/held_backend.hpp"
#include "tests/weights/test_support.hpp"
#include "weights/api_error.hpp"
#include "weights/cause_rule.hpp"
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>

namespace canaryd::weights {
namespace {

using test_support::at;
using test_support::sel;
using test_support::LoadKind;
using test_support::SaveOutcome;
using test_support::TempDir;
using test_support::view_of;

namespace fs = std::filesystem;
namespace json = boost::json;

ServiceView demo_view() {
  ServiceView v;
  v.service_selector = sel("name=nginx");
  v.endpoints = {
      {"127.0.0.1:18081", {{"name", "nginx"}, {"version", "v1"}}, true, ""},
      {"127.0.0.1:18082", {{"name", "nginx"}, {"version", "v1"}}, true, "nginx-v1-7d4f8"},
      {"127.0.0.1:18083", {{"name", "nginx"}, {"version", "v2"}}, false, ""},
      {"127.0.0.1:18084", {{"name", "other"}, {"version", "v1"}}, true, ""},
  };
  return v;
}

class ControlApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    RoutingState s;
    s.revision = 1;
    s.stable = sel("version=v1");
    s.canary = sel("version=v2");
    s.canary_weight = 0;
    s.cause = "initial";
    s.time = at(0);
    service_ = std::make_unique<ControlService>(RoutingHistory(s, 10), StateStore(state_file()));
    api_ = std::make_unique<ControlApi>(*service_, "", [this] { return view_; });
  }

  std::string state_file() const { return dir_.path() + "/state.json"; }

  ApiReply call(const std::string& method, const std::string& target, const std::string& body = "",
                const std::string& authorization = "") {
    ++minute_;
    // Over the state file a change is answered before handle() returns.
    return test_support::completed_at_once<ApiReply>([&](auto done) {
      api_->handle(ApiRequest{method, target, body, authorization}, at(minute_), std::move(done));
    });
  }

  /// Asserts a 200 and returns the parsed body.
  static json::value ok(const ApiReply& reply) {
    EXPECT_EQ(reply.status, 200) << reply.body;
    std::error_code ec;
    auto v = json::parse(reply.body, ec);
    EXPECT_FALSE(ec) << reply.body;
    return v;
  }

  /// Asserts the status and the error shape: exactly {"error": "<non-empty string>", "kind": "<kind>"}
  /// with the kind of that status.
  static std::string expect_error(const ApiReply& reply, int status) {
    EXPECT_EQ(reply.status, status) << reply.body;
    std::error_code ec;
    const auto v = json::parse(reply.body, ec);
    EXPECT_FALSE(ec) << reply.body;
    if (ec || !v.is_object()) {
      ADD_FAILURE() << "not an object: " << reply.body;
      return {};
    }
    EXPECT_EQ(v.as_object().size(), 2u) << reply.body;
    const auto* kind = v.as_object().if_contains("kind");
    EXPECT_TRUE(kind != nullptr && kind->is_string() && kind->as_string() == error_kind(status)) << reply.body;
    const auto* e = v.as_object().if_contains("error");
    if (e == nullptr || !e->is_string() || e->as_string().empty()) {
      ADD_FAILURE() << "no error string: " << reply.body;
      return {};
    }
    return std::string(e->as_string());
  }

  std::uint64_t revision() const { return service_->current().revision; }

  TempDir dir_{"weights-api"};
  ServiceView view_ = demo_view();
  std::unique_ptr<ControlService> service_;
  std::unique_ptr<ControlApi> api_;
  int minute_ = 0;
};

TEST_F(ControlApiTest, StatusIsTheContractDocument) {
  const auto reply = call("GET", "/api/status");
  const auto doc = ok(reply);
  EXPECT_EQ(doc.at("revision"), 1);
  EXPECT_EQ(doc.at("canary_weight").to_number<double>(), 0.0);
  EXPECT_EQ(doc.at("updated_at"), "2026-11-27T15:00:00Z");
  const auto& stable = doc.at("stable");
  EXPECT_EQ(stable.at("selector"), "name=nginx,version=v1");
  const auto& eps = stable.at("endpoints").as_array();
  ASSERT_EQ(eps.size(), 2u) << "only endpoints of the service in the set";
  EXPECT_EQ(eps[0].at("address"), "127.0.0.1:18081");
  EXPECT_EQ(eps[0].at("labels"), json::parse(R"({"name": "nginx", "version": "v1"})"));
  EXPECT_EQ(eps[0].at("healthy"), true);
  const auto& canary = doc.at("canary");
  EXPECT_EQ(canary.at("selector"), "name=nginx,version=v2");
  ASSERT_EQ(canary.at("endpoints").as_array().size(), 1u);
  EXPECT_EQ(canary.at("endpoints").at(0).at("healthy"), false);
  EXPECT_EQ(doc.at("aborted"), false);
  EXPECT_EQ(doc.as_object().size(), 6u);
  EXPECT_EQ(api_->status_json(), reply.body);
}

TEST_F(ControlApiTest, StatusCarriesTheServedShareOfEachSet) {
  auto doc = ok(call("GET", "/api/status"));
  EXPECT_TRUE(doc.at("stable").at("served").is_null()) << "null before any request";
  EXPECT_TRUE(doc.at("canary").at("served").is_null());
  EXPECT_EQ(doc.at("stable").at("served_requests"), 0);

  ServedShare window;
  window.sample(ServedShare::Clock::now(), {297, 100, 3});
  view_.served = window.numbers();
  doc = ok(call("GET", "/api/status"));
  EXPECT_EQ(doc.at("stable").at("served").to_number<double>(), 74.3);
  EXPECT_EQ(doc.at("canary").at("served").to_number<double>(), 25.0);
  EXPECT_EQ(doc.at("canary").at("served_requests"), 100);
  EXPECT_EQ(doc.at("stable").at("served_requests"), 297);
}

TEST_F(ControlApiTest, StatusIgnoresAQueryString) {
  ok(call("GET", "/api/status?pretty=1"));
  ok(call("GET", "/api/history?x"));
}

TEST_F(ControlApiTest, SetWeightAnswersTheNewStatus) {
  const auto reply = call("PUT", "/api/weight", R"({"canary_weight": 33.33, "cause": "ramp"})");
  const auto doc = ok(reply);
  EXPECT_EQ(doc.at("revision"), 2);
  EXPECT_NE(reply.body.find(R"("canary_weight":33.33)"), std::string::npos) << reply.body;
  EXPECT_EQ(doc.at("updated_at"), "2026-11-27T15:01:00Z");
  EXPECT_EQ(service_->current().canary_weight, 3333u);
  EXPECT_EQ(service_->current().cause, "ramp");
}

TEST_F(ControlApiTest, WholePercentsPrintAsNumbersWithAFraction) {
  const auto reply = call("PUT", "/api/weight", R"({"canary_weight": 10})");
  ok(reply);
  EXPECT_NE(reply.body.find(R"("canary_weight":10.0)"), std::string::npos) << reply.body;
}

TEST_F(ControlApiTest, SetWeightAcceptsEveryValidForm) {
  const std::pair<const char*, config::BasisPoints> cases[] = {
      {R"({"canary_weight": 0})", 0},       {R"({"canary_weight": 100})", 10000}, {R"({"canary_weight": 2.5})", 250},
      {R"({"canary_weight": 99.99})", 9999}, {R"({"canary_weight": 0.01})", 1},   {R"({"canary_weight": 100.00})", 10000},
      {R"({"canary_weight": 50.0})", 5000},  {" \n{\"canary_weight\" : 7}\n ", 700}, {R"({"canary_weight": 0.5})", 50},
  };
  for (const auto& [body, bp] : cases) {
    ok(call("PUT", "/api/weight", body));
    EXPECT_EQ(service_->current().canary_weight, bp) << body;
  }
}

TEST_F(ControlApiTest, DefaultCauseDescribesTheCall) {
  ok(call("PUT", "/api/weight", R"({"canary_weight": 30})"));
  EXPECT_EQ(service_->current().cause, "PUT /api/weight canary_weight=30");
  ok(call("PUT", "/api/weight", R"({"canary_weight": 40, "cause": ""})"));
  EXPECT_EQ(service_->current().cause, "PUT /api/weight canary_weight=40");
  ok(call("POST", "/api/rollback"));
  EXPECT_EQ(service_->current().cause, "POST /api/rollback");
}

TEST_F(ControlApiTest, BadWeightBodiesAre400AndChangeNothing) {
  const char* bodies[] = {
      R"({"canary_weight": -1})",
      R"({"canary_weight": 100.5})",
      R"({"canary_weight": 12.345})",
      R"({"canary_weight": "30"})",
      R"({"canary_weight": null})",
      R"({"canary_weight": true})",
      R"({})",
      R"({"canary_weight": [10]})",
      R"({not json)",
      "",
      R"({"canary_weight": 1e400})",
      R"({"canary_weight": -1e400})",
      R"({"canary_weight": 101})",
      R"({"canary_weight": 18446744073709551615})",
      R"({"canary_weight": {}})",
      R"({"canary_weight": NaN})",
      // Never rounded: judged by the text with the config's rule, not by the double (which for the
      // third is the very same double as 33.33).
      R"({"canary_weight": 0.000000001})",
      R"({"canary_weight": 33.3300000001})",
      R"({"canary_weight": 33.3300000000000001})",
      R"({"canary_weight": 10.000})",
      R"({"canary_weight": 1e1})",
      R"({"canary_weight": -0})",
      R"({"canary_weight": 10, "canary_weight": 20})",
      R"({"canary_weight": 10, "cause": "a", "cause": "b"})",
      R"({"canary_weight": 10, "typo": 1})",
      R"({"canary_weight": 10, "cause": 5})",
      R"({"canary_weight": 10} trailing)",
      R"([10])",
      R"("30")",
      R"(30)",
      R"(null)",
  };
  for (const char* body : bodies) {
    expect_error(call("PUT", "/api/weight", body), 400);
    EXPECT_EQ(revision(), 1u) << body;
  }
  EXPECT_FALSE(fs::exists(state_file())) << "malformed input never reaches the store";
}

TEST_F(ControlApiTest, SetWeightWithoutCanaryIs409) {
  ok(call("DELETE", "/api/canary"));
  expect_error(call("PUT", "/api/weight", R"({"canary_weight": 10})"), 409);
  EXPECT_EQ(revision(), 2u);
}

TEST_F(ControlApiTest, PromoteMakesTheCanaryStable) {
  view_.endpoints[2].healthy = true;  // the promote gate wants a healthy canary endpoint
  ok(call("PUT", "/api/weight", R"({"canary_weight": 50})"));
  const auto doc = ok(call("POST", "/api/promote", R"({"cause": "looks good"})"));
  EXPECT_EQ(doc.at("revision"), 3);
  EXPECT_EQ(doc.at("stable").at("selector"), "name=nginx,version=v2");
  EXPECT_TRUE(doc.at("canary").is_null());
  EXPECT_EQ(doc.at("canary_weight").to_number<double>(), 0.0);
  EXPECT_EQ(service_->current().cause, "looks good");
  // Nothing left to promote.
  expect_error(call("POST", "/api/promote"), 409);
}

TEST_F(ControlApiTest, PromoteOfACanaryWithoutEndpointsIs409) {
  ok(call("PUT", "/api/canary", R"({"selector": "version=v9"})"));
  const auto msg = expect_error(call("POST", "/api/promote"), 409);
  EXPECT_NE(msg.find("version=v9"), std::string::npos) << msg;
  EXPECT_EQ(revision(), 2u);
}

TEST_F(ControlApiTest, RollbackZeroesTheWeight) {
  ok(call("PUT", "/api/weight", R"({"canary_weight": 50})"));
  const auto doc = ok(call("POST", "/api/rollback", ""));
  EXPECT_EQ(doc.at("canary_weight").to_number<double>(), 0.0);
  EXPECT_EQ(doc.at("canary").at("selector"), "name=nginx,version=v2");
  ok(call("DELETE", "/api/canary"));
  expect_error(call("POST", "/api/rollback"), 409);  // no canary set to roll back
}

TEST_F(ControlApiTest, UndoTogglesLikeKubectlRolloutUndo) {
  ok(call("PUT", "/api/weight", R"({"canary_weight": 10})"));  // r2
  ok(call("PUT", "/api/weight", R"({"canary_weight": 50})"));  // r3
  EXPECT_EQ(ok(call("POST", "/api/undo")).at("canary_weight").to_number<double>(), 10.0);
  EXPECT_EQ(ok(call("POST", "/api/undo", "{}")).at("canary_weight").to_number<double>(), 50.0);
  const auto doc = ok(call("POST", "/api/undo", R"({"to_revision": 1})"));
  EXPECT_EQ(doc.at("canary_weight").to_number<double>(), 0.0);
  EXPECT_EQ(doc.at("revision"), 6);
  EXPECT_EQ(service_->current().cause, "POST /api/undo to_revision=1");
}

TEST_F(ControlApiTest, UndoErrors) {
  expect_error(call("POST", "/api/undo"), 409);  // nothing before revision 1
  ok(call("PUT", "/api/weight", R"({"canary_weight": 10})"));
  const auto msg = expect_error(call("POST", "/api/undo", R"({"to_revision": 99})"), 404);
  EXPECT_EQ(msg, "revision 99 not found in history");
  for (const char* body : {R"({"to_revision": 0})", R"({"to_revision": -1})", R"({"to_revision": 1.5})",
                           R"({"to_revision": "1"})", R"({"to_revision": null})", R"({"revision": 1})", R"([1])"}) {
    expect_error(call("POST", "/api/undo", body), 400);
  }
  EXPECT_EQ(revision(), 2u);
}

TEST_F(ControlApiTest, DefineCanaryByStringOrLabels) {
  auto doc = ok(call("PUT", "/api/canary", R"({"selector": "version=v3", "canary_weight": 5})"));
  EXPECT_EQ(doc.at("canary").at("selector"), "name=nginx,version=v3");
  EXPECT_EQ(doc.at("canary_weight").to_number<double>(), 5.0);
  doc = ok(call("PUT", "/api/canary", R"({"selector": {"version": "v2", "track": "canary"}})"));
  EXPECT_EQ(doc.at("canary").at("selector"), "name=nginx,track=canary,version=v2");
  EXPECT_EQ(doc.at("canary_weight").to_number<double>(), 0.0) << "weight defaults to 0";
  EXPECT_EQ(service_->current().cause, "PUT /api/canary selector=track=canary,version=v2 canary_weight=0");
}

TEST_F(ControlApiTest, DefineCanaryOverlappingStableIs409) {
  for (const char* body : {R"({"selector": "version=v1"})", R"({"selector": {"tier": "web"}})",
                           R"json({"selector": "version in (v1,v2)"})json"}) {
    expect_error(call("PUT", "/api/canary", body), 409);
  }
  EXPECT_EQ(revision(), 1u);
}

TEST_F(ControlApiTest, BadCanaryBodiesAre400) {
  for (const char* body : {
           R"({})",
           "",
           R"({"canary_weight": 10})",
           R"({"selector": "version in (v3"})",
           R"({"selector": ""})",
           R"({"selector": {}})",
           R"({"selector": 3})",
           R"({"selector": ["version=v3"]})",
           R"({"selector": {"version": 3}})",
           R"({"selector": {"version": "a,b"}})",
           R"({"selector": "version=v3", "canary_weight": "5"})",
           R"({"selector": "version=v3", "canary_weight": 12.345})",
           R"({"selector": "version=v3", "weight": 5})",
       }) {
    expect_error(call("PUT", "/api/canary", body), 400);
    EXPECT_EQ(revision(), 1u) << body;
  }
}

TEST_F(ControlApiTest, DeleteCanary) {
  ok(call("PUT", "/api/weight", R"({"canary_weight": 20})"));
  const auto doc = ok(call("DELETE", "/api/canary"));
  EXPECT_TRUE(doc.at("canary").is_null());
  EXPECT_EQ(doc.at("canary_weight").to_number<double>(), 0.0);
  EXPECT_EQ(ok(call("DELETE", "/api/canary")).at("unchanged"), true) << "nothing left to remove";
  EXPECT_EQ(revision(), 3u);
  expect_error(call("DELETE", "/api/canary", R"({"selector": "x"})"), 400);
}

TEST_F(ControlApiTest, OptionalBodiesMustStillBeObjects) {
  ok(call("PUT", "/api/weight", R"({"canary_weight": 20})"));
  for (const char* path : {"/api/promote", "/api/rollback", "/api/undo"}) {
    expect_error(call("POST", path, "[]"), 400);
    expect_error(call("POST", path, "{"), 400);
    expect_error(call("POST", path, R"({"cause": 5})"), 400);
    expect_error(call("POST", path, R"({"unknown": 1})"), 400);
  }
  EXPECT_EQ(revision(), 2u);
}

TEST_F(ControlApiTest, HistoryListsRevisionsOldestFirst) {
  ok(call("PUT", "/api/weight", R"({"canary_weight": 12.5, "cause": "first step"})"));
  ok(call("DELETE", "/api/canary"));
  const auto reply = call("GET", "/api/history");
  const auto doc = ok(reply);
  const auto& revs = doc.at("revisions").as_array();
  ASSERT_EQ(revs.size(), 3u);
  EXPECT_EQ(revs[0], json::parse(R"({"revision": 1, "time": "2026-11-27T15:00:00Z", "canary_weight": 0.0,
                                     "stable": "name=nginx,version=v1", "canary": "name=nginx,version=v2",
                                     "cause": "initial"})"));
  EXPECT_EQ(revs[1].at("canary_weight").to_number<double>(), 12.5);
  EXPECT_EQ(revs[1].at("cause"), "first step");
  EXPECT_TRUE(revs[2].at("canary").is_null());
  EXPECT_EQ(revs[2].at("revision"), 3);
  EXPECT_EQ(api_->history_json(), reply.body);
}

TEST_F(ControlApiTest, HistoryIsBoundedByTheLimit) {
  service_->set_history_limit(3);
  for (int w = 1; w <= 5; ++w) ok(call("PUT", "/api/weight", R"({"canary_weight": )" + std::to_string(w) + "}"));
  const auto doc = ok(call("GET", "/api/history"));
  ASSERT_EQ(doc.at("revisions").as_array().size(), 3u);
  EXPECT_EQ(doc.at("revisions").at(0).at("revision"), 4);
  expect_error(call("POST", "/api/undo", R"({"to_revision": 2})"), 404);
}

TEST_F(ControlApiTest, TokenIsRequiredWhenConfigured) {
  api_->set_token("s3cret-token");
  EXPECT_EQ(expect_error(call("GET", "/api/status"), 401), "missing or invalid bearer token");
  expect_error(call("GET", "/api/status", "", "Bearer wrong"), 401);
  expect_error(call("GET", "/api/status", "", "Bearer s3cret-token-and-more"), 401);
  expect_error(call("GET", "/api/status", "", "Bearer s3cret-toke"), 401);
  expect_error(call("GET", "/api/status", "", "Basic czNjcmV0LXRva2Vu"), 401);
  expect_error(call("GET", "/api/status", "", "s3cret-token"), 401);
  // Refused before anything else: changes, unknown paths and wrong methods alike.
  expect_error(call("PUT", "/api/weight", R"({"canary_weight": 10})"), 401);
  expect_error(call("GET", "/api/nope"), 401);
  expect_error(call("DELETE", "/api/status"), 401);
  EXPECT_EQ(revision(), 1u);

  ok(call("GET", "/api/status", "", "Bearer s3cret-token"));
  ok(call("PUT", "/api/weight", R"({"canary_weight": 10})", "bearer s3cret-token"));
  EXPECT_EQ(revision(), 2u);

  api_->set_token("");
  ok(call("GET", "/api/status"));
}

TEST_F(ControlApiTest, WrongMethodIs405) {
  const std::pair<const char*, const char*> cases[] = {
      {"POST", "/api/status"}, {"GET", "/api/weight"},  {"POST", "/api/weight"},   {"GET", "/api/promote"},
      {"PUT", "/api/rollback"}, {"GET", "/api/undo"},   {"POST", "/api/canary"},   {"GET", "/api/canary"},
      {"DELETE", "/api/history"}, {"get", "/api/status"}, {"PATCH", "/api/canary"},
  };
  for (const auto& [method, path] : cases) {
    const auto msg = expect_error(call(method, path, R"({"canary_weight": 10})"), 405);
    EXPECT_NE(msg.find(allowed_methods(path)), std::string::npos) << msg;
  }
  EXPECT_EQ(revision(), 1u);
}

TEST_F(ControlApiTest, UnknownPathIs404) {
  for (const char* target : {"/api/nope", "/api/", "/api", "/api/status/", "/metrics", "/", "/apistatus", "/API/status"}) {
    expect_error(call("GET", target), 404);
  }
}

TEST_F(ControlApiTest, FailedPersistIs500AndChangesNothing) {
  ok(call("PUT", "/api/weight", R"({"canary_weight": 10})"));
  const auto before = service_->history();
  // A directory where the state file was: the rename over it fails.
  ASSERT_TRUE(fs::remove(state_file()));
  ASSERT_TRUE(fs::create_directories(state_file() + "/occupied"));
  const auto msg = expect_error(call("PUT", "/api/weight", R"({"canary_weight": 20})"), 500);
  EXPECT_NE(msg.find(state_file()), std::string::npos) << msg;
  EXPECT_EQ(service_->history(), before);
  EXPECT_EQ(ok(call("GET", "/api/status")).at("canary_weight").to_number<double>(), 10.0);
}

TEST_F(ControlApiTest, ChangesAreDurableBeforeTheyAnswer) {
  ok(call("PUT", "/api/canary", R"({"selector": "version=v3", "canary_weight": 1.5})"));
  const auto loaded = view_of(StateStore(state_file()).load(10));
  ASSERT_EQ(loaded.kind, LoadKind::Ok) << loaded.error;
  EXPECT_EQ(*loaded.history, service_->history());
}

TEST_F(ControlApiTest, StatusFollowsTheViewNow) {
  view_.endpoints[2].healthy = true;
  view_.endpoints.push_back({"[::1]:18085", {{"name", "nginx"}, {"version", "v2"}}, true, ""});
  const auto doc = ok(call("GET", "/api/status"));
  const auto& eps = doc.at("canary").at("endpoints").as_array();
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0].at("healthy"), true);
  EXPECT_EQ(eps[1].at("address"), "[::1]:18085");
}

TEST_F(ControlApiTest, AChangeThatChangesNothingIsUnchangedAndWritesNothing) {
  ok(call("PUT", "/api/weight", R"({"canary_weight": 20})"));  // r2
  // The file's text, not its time stamp: two writes within a clock tick of the file system share one.
  const auto stored = [&] {
    std::ifstream in(state_file());
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string file_before = stored();
  auto doc = ok(call("PUT", "/api/weight", R"({"canary_weight": 20.0, "cause": "again"})"));
  EXPECT_EQ(doc.at("unchanged"), true);
  EXPECT_EQ(doc.at("revision"), 2);
  doc = ok(call("PUT", "/api/canary", R"({"selector": {"version": "v2"}, "canary_weight": 20})"));
  EXPECT_EQ(doc.at("unchanged"), true) << "the same selector and weight again";
  ok(call("POST", "/api/rollback"));  // r3
  doc = ok(call("POST", "/api/rollback"));
  EXPECT_EQ(doc.at("unchanged"), true) << "a second rollback";
  EXPECT_EQ(doc.at("revision"), 3);
  EXPECT_EQ(revision(), 3u);
  EXPECT_EQ(service_->current().cause, "POST /api/rollback") << "the unchanged calls recorded nothing";
  EXPECT_EQ(service_->history().revisions().size(), 3u);
  EXPECT_NE(stored(), file_before);  // r3 was written ...
  const std::string file_r3 = stored();
  ok(call("POST", "/api/rollback"));
  EXPECT_EQ(stored(), file_r3) << "... the unchanged ones were not";
  // A real change still answers without "unchanged".
  doc = ok(call("PUT", "/api/weight", R"({"canary_weight": 1})"));
  EXPECT_FALSE(doc.as_object().contains("unchanged")) << doc;
  EXPECT_EQ(doc.at("revision"), 4);
}

TEST_F(ControlApiTest, UndoToAnIdenticalStateIsUnchanged) {
  ok(call("PUT", "/api/weight", R"({"canary_weight": 20})"));  // r2
  ok(call("PUT", "/api/weight", R"({"canary_weight": 0})"));   // r3, routes as r1
  const auto doc = ok(call("POST", "/api/undo", R"({"to_revision": 1})"));
  EXPECT_EQ(doc.at("unchanged"), true);
  EXPECT_EQ(revision(), 3u);
}

TEST_F(ControlApiTest, UnchangedDoesNotPublish) {
  int published = 0;
  service_->set_on_change([&](const RoutingState&) { ++published; });
  ok(call("PUT", "/api/weight", R"({"canary_weight": 20})"));
  ok(call("PUT", "/api/weight", R"({"canary_weight": 20})"));
  ok(call("DELETE", "/api/canary"));
  ok(call("DELETE", "/api/canary"));
  EXPECT_EQ(published, 2);
}

TEST_F(ControlApiTest, IfRevisionGuardsEveryChange) {
  ok(call("PUT", "/api/weight", R"({"canary_weight": 20, "if_revision": 1})"));  // r2
  const auto msg = expect_error(call("PUT", "/api/weight", R"({"canary_weight": 30, "if_revision": 1})"), 409);
  EXPECT_EQ(msg, "if_revision is 1 but the current revision is 2");
  const std::pair<const char*, const char*> calls[] = {
      {"PUT /api/weight", R"({"canary_weight": 30, "if_revision": 7})"},
      {"POST /api/promote", R"({"if_revision": 7})"},
      {"POST /api/rollback", R"({"if_revision": 7, "cause": "x"})"},
      {"POST /api/undo", R"({"if_revision": 7})"},
      {"PUT /api/canary", R"({"selector": "version=v3", "if_revision": 7})"},
      {"DELETE /api/canary", R"({"if_revision": 7})"},
  };
  for (const auto& [what, body] : calls) {
    const std::string line(what);
    const auto space = line.find(' ');
    expect_error(call(line.substr(0, space), line.substr(space + 1), body), 409);
  }
  EXPECT_EQ(revision(), 2u);
  // The same calls with the current revision apply.
  ok(call("POST", "/api/rollback", R"({"if_revision": 2})"));
  EXPECT_EQ(revision(), 3u);
  // An unchanged call with the right revision is 200, unchanged.
  EXPECT_EQ(ok(call("POST", "/api/rollback", R"({"if_revision": 3})")).at("unchanged"), true);
  for (const char* body : {R"({"if_revision": 0})", R"({"if_revision": -3})", R"({"if_revision": "3"})",
                           R"({"if_revision": 3.0})", R"({"if_revision": null})"}) {
    expect_error(call("POST", "/api/rollback", body), 400);
  }
  EXPECT_EQ(revision(), 3u);
}

TEST_F(ControlApiTest, IfRevisionIsCheckedWhenTheChangeIsApplied) {
  // The check runs inside the transition on the history then current: a write that lands between the
  // call's parsing and its application makes it a conflict.
  std::optional<std::uint64_t> seen;
  service_->set_on_change([&](const RoutingState& s) { seen = s.revision; });
  ok(call("PUT", "/api/weight", R"({"canary_weight": 5, "if_revision": 1})"));
  EXPECT_EQ(seen, 2u);
  const auto result = test_support::completed_at_once<ControlService::ApplyResult>([&](auto done) {
    service_->apply(
        [](const RoutingHistory& h) -> TransitionResult {
          TransitionContext ctx;
          ctx.cause = "other";
          ctx.service_selector = sel("name=nginx");
          return set_weight(h, 700, ctx);
        },
        std::move(done));
  });
  ASSERT_TRUE(result.ok());
  expect_error(call("PUT", "/api/weight", R"({"canary_weight": 9, "if_revision": 2})"), 409);
  EXPECT_EQ(service_->current().canary_weight, 700u);
}

TEST_F(ControlApiTest, CauseIsBoundedUtf8WithoutControlCharacters) {
  const std::string longest(kMaxCauseBytes, 'x');
  ok(call("PUT", "/api/weight", R"({"canary_weight": 1, "cause": ")" + longest + R"("})"));
  EXPECT_EQ(service_->current().cause, longest);
  ok(call("PUT", "/api/weight", "{\"canary_weight\": 2, \"cause\": \"caf\xC3\xA9 \\u00e9 \\u2014 ok\"}"));
  EXPECT_EQ(service_->current().cause, "caf\xC3\xA9 \xC3\xA9 \xE2\x80\x94 ok");
  const std::pair<std::string, std::string> bad[] = {
      {R"({"canary_weight": 3, "cause": ")" + longest + R"(x"})", "longer than 1024 bytes (1025)"},
      {R"({"canary_weight": 3, "cause": "two\nlines"})", "control character U+000A at byte 3"},
      {R"({"canary_weight": 3, "cause": "cr\r"})", "control character U+000D at byte 2"},
      {R"({"canary_weight": 3, "cause": "tab\there"})", "control character U+0009 at byte 3"},
      {R"({"canary_weight": 3, "cause": "\u001b[2J"})", "control character U+001B at byte 0"},
      {R"({"canary_weight": 3, "cause": "del\u007f"})", "control character U+007F at byte 3"},
      {R"({"canary_weight": 3, "cause": "c1\u009b"})", "control character U+009B at byte 2"},
      {R"({"canary_weight": 3, "cause": "nul\u0000"})", "control character U+0000 at byte 3"},
  };
  for (const auto& [body, problem] : bad) {
    const auto msg = expect_error(call("PUT", "/api/weight", body), 400);
    EXPECT_NE(msg.find(problem), std::string::npos) << body << " -> " << msg;
    EXPECT_EQ(msg.rfind("cause: ", 0), 0u) << msg;
  }
  // Invalid UTF-8 never gets as far as the cause: the JSON parser refuses it.
  for (const std::string body : {"{\"canary_weight\": 3, \"cause\": \"bad\xFF\"}",
                                 R"({"canary_weight": 3, "cause": "lone \ud800"})"}) {
    expect_error(call("PUT", "/api/weight", body), 400);
  }
  EXPECT_EQ(revision(), 3u);
}

TEST_F(ControlApiTest, DefaultCauseIsBoundedToo) {
  // A long selector makes a long description of the call; what is recorded is cut to the bound.
  std::string values;
  for (int i = 0; i < 300; ++i) values += (i ? "," : "") + std::string("w") + std::to_string(i);
  const auto doc = ok(call("PUT", "/api/canary", R"x({"selector": "version in ()x" + values + R"x()"})x"));
  EXPECT_EQ(service_->current().cause.size(), kMaxCauseBytes);
  EXPECT_EQ(cause_problem(service_->current().cause), "");
  EXPECT_EQ(service_->current().cause.rfind("PUT /api/canary selector=version in (w0,w1,", 0), 0u);
}

TEST(BearerMatchesTest, ComparesTheWholeToken) {
  EXPECT_TRUE(bearer_matches("Bearer abc", "abc"));
  EXPECT_TRUE(bearer_matches("bearer abc", "abc"));
  EXPECT_TRUE(bearer_matches("BEARER  abc ", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer abd", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer ab", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer abcd", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer abcabc", "abc")) << "a repetition must not wrap around";
  EXPECT_FALSE(bearer_matches("Bearer ", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer", "abc"));
  EXPECT_FALSE(bearer_matches("", "abc"));
  EXPECT_FALSE(bearer_matches("Bearerabc", "abc"));
  EXPECT_FALSE(bearer_matches("Token abc", "abc"));
  EXPECT_FALSE(bearer_matches("abc", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer ", "")) << "an empty token never matches";
  EXPECT_FALSE(bearer_matches("Bearer x", ""));
}

TEST(AllowedMethodsTest, NamesTheMethodsOfEachPath) {
  EXPECT_EQ(allowed_methods("/api/status"), "GET");
  EXPECT_EQ(allowed_methods("/api/weight"), "PUT");
  EXPECT_EQ(allowed_methods("/api/canary"), "PUT, DELETE");
  EXPECT_EQ(allowed_methods("/api/nope"), "");
}

}  // namespace
}  // namespace canaryd::weights

namespace canaryd::weights {
namespace {

TEST_F(ControlApiTest, StatusNamesDiscoveredPods) {
  const auto doc = ok(call("GET", "/api/status"));
  const auto& eps = doc.at("stable").at("endpoints").as_array();
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[0].as_object().if_contains("pod"), nullptr) << "a configured endpoint has no pod field";
  EXPECT_EQ(eps[1].at("pod").as_string(), "nginx-v1-7d4f8");
}

}  // namespace
}  // namespace canaryd::weights

namespace canaryd::weights {
namespace {

TEST(ControlApiPendingWriteTest, AChangeIsAnsweredOnceStoredWhileReadsAnswerAtOnce) {
  RoutingState s;
  s.stable = sel("version=v1");
  s.canary = sel("version=v2");
  s.time = at(0);
  auto backend = std::make_unique<test_support::HeldBackend>();
  auto& held = *backend;
  ControlService service(RoutingHistory(s, 10), std::move(backend));
  ControlApi api(service, "", [] { return demo_view(); });

  std::optional<ApiReply> change;
  api.handle(ApiRequest{"PUT", "/api/weight", R"({"canary_weight": 20})", ""}, at(1),
             [&](ApiReply r) { change = std::move(r); });
  EXPECT_FALSE(change.has_value()) << "not answered before the write is stored";

  std::optional<ApiReply> status;
  api.handle(ApiRequest{"GET", "/api/status", "", ""}, at(2), [&](ApiReply r) { status = std::move(r); });
  ASSERT_TRUE(status.has_value()) << "a read does not wait for the pending write";
  EXPECT_EQ(json::parse(status->body).at("revision"), 1);

  held.release_save(SaveOutcome::Failed, "the API server did not answer");
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->status, 500);
  EXPECT_NE(change->body.find("the API server did not answer"), std::string::npos) << change->body;
  EXPECT_EQ(service.current().revision, 1u);

  change.reset();
  api.handle(ApiRequest{"PUT", "/api/weight", R"({"canary_weight": 20})", ""}, at(3),
             [&](ApiReply r) { change = std::move(r); });
  held.release_save();
  ASSERT_TRUE(change.has_value());
  EXPECT_EQ(change->status, 200) << change->body;
  EXPECT_EQ(json::parse(change->body).at("revision"), 2);
}

// The promote gate: the demo view's only canary endpoint is unhealthy.
TEST_F(ControlApiTest, PromoteOfACanaryWithoutAHealthyEndpointIs409UnlessForced) {
  const auto refused = call("POST", "/api/promote");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("no healthy endpoint"), std::string::npos) << refused.body;
  EXPECT_EQ(revision(), 1u);
  EXPECT_EQ(call("POST", "/api/promote", R"({"force": "yes"})").status, 400);
  const auto doc = ok(call("POST", "/api/promote", R"({"force": true})"));
  EXPECT_EQ(doc.at("stable").at("selector"), "name=nginx,version=v2");
  EXPECT_EQ(service_->current().cause, "POST /api/promote force=true");
}

TEST_F(ControlApiTest, StatusSaysAbortedFromARollbackUntilAWeightIsSet) {
  EXPECT_EQ(ok(call("POST", "/api/rollback")).at("aborted"), true);
  EXPECT_NE(api_->status_json().find(R"("aborted":true)"), std::string::npos);
  const auto doc = ok(call("PUT", "/api/weight", R"({"canary_weight": 0})"));
  EXPECT_EQ(doc.at("aborted"), false);
  EXPECT_FALSE(doc.as_object().contains("unchanged"));
  EXPECT_EQ(revision(), 3u);
}

}  // namespace
}  // namespace canaryd::weights

// What the audit line reports (contract section 7): the revisions before and after and the cause, for a
// change, a no-op, a refusal in the service and a refusal before it.
namespace canaryd::weights {
namespace {

TEST_F(ControlApiTest, EveryAnswerCarriesTheFactsOfTheAuditLine) {
  const ApiReply changed = call("PUT", "/api/weight", R"({"canary_weight": 20, "cause": "ramp"})");
  ASSERT_TRUE(changed.change);
  EXPECT_EQ(changed.change->revision_before, 1u);
  EXPECT_EQ(changed.change->revision_after, 2u);
  EXPECT_EQ(changed.change->cause, "ramp");

  const ApiReply same = call("PUT", "/api/weight", R"({"canary_weight": 20})");
  ASSERT_TRUE(same.change);
  EXPECT_EQ(same.change->revision_before, 2u);
  EXPECT_EQ(same.change->revision_after, 2u);
  EXPECT_EQ(same.change->cause, "PUT /api/weight canary_weight=20");

  const ApiReply conflict = call("PUT", "/api/weight", R"({"canary_weight": 30, "if_revision": 1, "cause": "old"})");
  EXPECT_EQ(conflict.status, 409);
  ASSERT_TRUE(conflict.change);
  EXPECT_EQ(conflict.change->revision_before, 2u);
  EXPECT_EQ(conflict.change->revision_after, 2u);
  EXPECT_EQ(conflict.change->cause, "old");

  const ApiReply bad = call("PUT", "/api/weight", R"({"canary_weight": 101})");
  EXPECT_EQ(bad.status, 400);
  ASSERT_TRUE(bad.change);
  EXPECT_EQ(bad.change->revision_before, 2u);
  EXPECT_EQ(bad.change->revision_after, 2u);
  EXPECT_EQ(bad.change->cause, "");
}

}  // namespace
}  // namespace canaryd::weights
