// Unit tests of the rollout record in the state file: phase names, the record's JSON and its checks on
// load, and the record travelling with each revision through history_to_json/history_from_json (older
// files without it still load).
#include <gtest/gtest.h>

#include <string>

#include "test_support.hpp"
#include "weights/json_text.hpp"
#include "weights/revision_json.hpp"
#include "weights/routing_history.hpp"
#include "weights/state_store.hpp"

namespace canaryd::weights {
namespace {

namespace json = boost::json;
using config::PauseKind;
using config::RolloutStep;
using std::chrono::milliseconds;
using test_support::sel;

const Clock::time_point kT0 = Clock::time_point{std::chrono::seconds{1'796'464'800}};  // 2026-12-05T10:00:00Z

RolloutRecord sample_record() {
  RolloutRecord r;
  r.plan.steps = {RolloutStep{500, PauseKind::Timed, milliseconds(120'000), false},
                  RolloutStep{3333, PauseKind::Manual, milliseconds(0), false},
                  RolloutStep{std::nullopt, PauseKind::None, milliseconds(0), true}};
  r.plan.analysis = config::AnalysisSettings{};
  r.phase = RolloutPhase::Progressing;
  r.step = 1;
  r.pause_until = kT0 + milliseconds(120'250);
  r.reason = "rollout step 1/3: weight 5";
  r.driver = "canaryd-7f9c-abc";
  r.started_revision = 4;
  return r;
}

Result<RolloutRecord> round_trip(const RolloutRecord& r) {
  return rollout_from_json(json::parse(to_json_text(rollout_to_json(r))), "rollout");
}

std::string load_error(const std::string& text) {
  auto r = rollout_from_json(json::parse(text), "revisions[0].rollout");
  return r ? std::string("(accepted)") : r.error().message;
}

TEST(RolloutRecordTest, PhaseNamesRoundTrip) {
  for (auto p : {RolloutPhase::Progressing, RolloutPhase::Paused, RolloutPhase::Completed, RolloutPhase::Aborted}) {
    EXPECT_EQ(parse_phase(phase_name(p)), p);
  }
  EXPECT_STREQ(phase_name(RolloutPhase::Progressing), "progressing");
  EXPECT_STREQ(phase_name(RolloutPhase::Paused), "paused");
  EXPECT_STREQ(phase_name(RolloutPhase::Completed), "completed");
  EXPECT_STREQ(phase_name(RolloutPhase::Aborted), "aborted");
  EXPECT_FALSE(parse_phase("none"));
  EXPECT_FALSE(parse_phase("Paused"));
}

TEST(RolloutRecordTest, TheRecordsJsonShape) {
  const json::object o = rollout_to_json(sample_record());
  EXPECT_EQ(o.at("phase"), "progressing");
  EXPECT_EQ(o.at("step"), 1);
  // The deadline to the millisecond, so that a restart neither shortens nor extends the pause.
  EXPECT_EQ(o.at("pause_until"), "2026-12-05T10:02:00.250Z");
  EXPECT_FALSE(o.contains("pause_left_ms"));
  EXPECT_EQ(o.at("reason"), "rollout step 1/3: weight 5");
  EXPECT_EQ(o.at("driver"), "canaryd-7f9c-abc");
  EXPECT_EQ(o.at("started_revision"), 4);
  EXPECT_EQ(to_json_text(o.at("plan").at("steps").at(1)), R"({"weight":33.33,"pause":"manual"})");
}

TEST(RolloutRecordTest, EveryPhaseRoundTrips) {
  RolloutRecord r = sample_record();
  auto back = round_trip(r);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, r);

  r.phase = RolloutPhase::Paused;  // paused by the operator in the middle of the timed pause
  r.pause_until.reset();
  r.pause_left = milliseconds(61'500);
  r.reason = "paused by operator";
  back = round_trip(r);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, r);

  r.pause_left.reset();  // a manual pause
  r.step = 2;
  back = round_trip(r);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, r);

  r.phase = RolloutPhase::Completed;
  r.step = 3;
  r.plan.analysis.reset();
  back = round_trip(r);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, r);

  r.phase = RolloutPhase::Aborted;
  r.step = 2;
  r.pause_until = kT0;  // whole seconds print without a fraction
  r.reason = "rollout aborted: canary error rate 19.8 % > 1 % (240 requests)";
  EXPECT_EQ(rollout_to_json(r).at("pause_until"), "2026-12-05T10:00:00Z");
  back = round_trip(r);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, r);
}

TEST(RolloutRecordTest, ACorruptRecordIsRefusedWithItsField) {
  json::object good = rollout_to_json(sample_record());
  const auto with = [&](std::string_view key, json::value v) {
    json::object o = good;
    o[key] = std::move(v);
    return load_error(to_json_text(o));
  };
  const auto without = [&](std::string_view key) {
    json::object o = good;
    o.erase(key);
    return load_error(to_json_text(o));
  };
  EXPECT_EQ(load_error(to_json_text(good)), "(accepted)");
  EXPECT_EQ(with("step", 0), "revisions[0].rollout.step: must be an integer from 1 to 3 (the plan's steps)");
  EXPECT_EQ(with("step", 4), "revisions[0].rollout.step: must be an integer from 1 to 3 (the plan's steps)");
  EXPECT_EQ(with("phase", "none"), "revisions[0].rollout.phase: must be progressing, paused, completed or aborted");
  EXPECT_EQ(with("pause_until", "tomorrow"),
            "revisions[0].rollout.pause_until: must be an RFC 3339 UTC time like 2026-12-05T10:00:00Z");
  EXPECT_EQ(with("pause_until", "2026-12-05T10:00:00.25Z"),
            "revisions[0].rollout.pause_until: must be an RFC 3339 UTC time like 2026-12-05T10:00:00Z");
  EXPECT_EQ(with("pause_left_ms", -1), "revisions[0].rollout.pause_left_ms: must be an integer from 0 to 604800000");
  EXPECT_EQ(with("reason", 5), "revisions[0].rollout.reason: must be a string");
  EXPECT_EQ(with("driver", nullptr), "revisions[0].rollout.driver: must be a string");
  EXPECT_EQ(with("started_revision", "4"), "revisions[0].rollout.started_revision: must be a non-negative integer");
  EXPECT_EQ(with("extra", 1), "revisions[0].rollout: unknown field \"extra\"");
  EXPECT_EQ(without("driver"), "revisions[0].rollout: missing field \"driver\"");
  EXPECT_EQ(without("plan"), "revisions[0].rollout: missing field \"plan\"");
  EXPECT_EQ(with("plan", json::object{{"steps", json::array{}}}),
            "revisions[0].rollout.plan.steps: must list at least one step");
  EXPECT_EQ(with("plan", json::object{{"steps", json::array{json::object{{"weight", 10.125}}}}}),
            "revisions[0].rollout.plan.steps[0].weight: must be a number from 0 to 100 with at most two decimals, "
            "got 10.125");
  EXPECT_EQ(load_error("[]"), "revisions[0].rollout: must be an object");
}

RoutingHistory history_with_rollout() {
  RoutingState s;
  s.revision = 1;
  s.stable = sel("version=v1");
  s.canary = sel("version=v2");
  s.cause = "initial";
  s.time = kT0;
  RoutingHistory h(s, 10);
  s.revision = 2;
  s.canary_weight = 500;
  s.rollout = sample_record();
  s.rollout->started_revision = 2;
  s.cause = "rollout step 1/3: weight 5";
  s.time = kT0 + std::chrono::seconds(1);
  h.push(s);
  s.revision = 3;
  s.canary_weight = 3333;
  s.rollout->step = 2;
  s.rollout->phase = RolloutPhase::Paused;
  s.rollout->pause_until.reset();
  s.cause = "rollout step 2/3: weight 33.33";
  s.time = kT0 + std::chrono::seconds(121);
  h.push(s);
  return h;
}

// Each revision carries the record; the state file (and the ConfigMap, the same document) keeps it.
TEST(RolloutRecordTest, TheRecordTravelsWithEachRevisionThroughTheStateFile) {
  const RoutingHistory h = history_with_rollout();
  const std::string text = history_to_json(h);
  const auto loaded = history_from_json(text, 10);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(*loaded, h);
  ASSERT_TRUE(loaded->current().rollout.has_value());
  EXPECT_EQ(loaded->current().rollout->step, 2u);
  const auto doc = json::parse(text);
  EXPECT_FALSE(doc.at("revisions").at(0).as_object().contains("rollout"));  // before the first rollout
  EXPECT_EQ(doc.at("revisions").at(2).at("rollout").at("phase"), "paused");
}

TEST(RolloutRecordTest, AStateFileWithoutRolloutsStillLoads) {
  const std::string old =
      R"({"format":1,"history_limit":10,"revisions":[{"revision":1,"time":"2026-11-27T15:00:00Z",)"
      R"("stable":"version=v1","canary":"version=v2","canary_weight_bp":0,"cause":"initial"}]})";
  const auto loaded = history_from_json(old, 10);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_FALSE(loaded->current().rollout.has_value());
}

TEST(RolloutRecordTest, ACorruptRecordMakesTheStateFileCorrupt) {
  json::value doc = json::parse(history_to_json(history_with_rollout()));
  doc.at("revisions").at(1).at("rollout").as_object()["step"] = 9;
  const auto loaded = history_from_json(to_json_text(doc), 10);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().message, "revisions[1].rollout.step: must be an integer from 1 to 3 (the plan's steps)");
}

// The history's size bound measures what the file holds, the record included.
TEST(RolloutRecordTest, TheHistorysSizeBoundCountsTheRecord) {
  const RoutingHistory h = history_with_rollout();
  RoutingState without = h.current();
  without.rollout.reset();
  const std::size_t record_bytes = to_json_text(rollout_to_json(*h.current().rollout)).size();
  EXPECT_EQ(revision_json_size(h.current()), revision_json_size(without) + record_bytes + std::string(",\"rollout\":").size());
  json::array all;
  for (const auto& r : h.revisions()) all.push_back(revision_to_json(r));
  EXPECT_EQ(h.json_bytes(), to_json_text(all).size() - 2);  // the array's brackets are not counted
}

}  // namespace
}  // namespace canaryd::weights
