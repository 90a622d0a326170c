// The choice of set: override field, weight draw, fallback to the other set; and the failure streaks
// passive ejection counts.
#include "proxy/dataplane/set_choice.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/dataplane/failure_streaks.hpp"

namespace canaryd::proxy {
namespace {

UpstreamEndpoint ep(std::uint32_t id, bool healthy) {
  UpstreamEndpoint e;
  e.id = id;
  e.name = "ep" + std::to_string(id);
  e.healthy = healthy;
  return e;
}

RoutingSnapshot snapshot(bool stable_healthy, bool canary_healthy, config::BasisPoints weight) {
  RoutingSnapshot s;
  s.sets[0] = {ep(0, false), ep(1, stable_healthy)};
  s.sets[1] = {ep(2, canary_healthy)};
  s.canary_weight = weight;
  s.max_endpoint_id = 2;
  return s;
}

TEST(SetChoice, OverrideValues) {
  EXPECT_EQ(forced_set(false, "always"), ForcedSet::None);
  EXPECT_EQ(forced_set(true, "always"), ForcedSet::Canary);
  EXPECT_EQ(forced_set(true, "ALWAYS"), ForcedSet::Canary);
  EXPECT_EQ(forced_set(true, "never"), ForcedSet::Stable);
  EXPECT_EQ(forced_set(true, "Never"), ForcedSet::Stable);
  EXPECT_EQ(forced_set(true, "sometimes"), ForcedSet::None);
  EXPECT_EQ(forced_set(true, ""), ForcedSet::None);
}

TEST(SetChoice, WeightDrawsFromTheSplitter) {
  const RoutingSnapshot s = snapshot(true, true, 2500);
  weights::Splitter splitter;
  int canary = 0;
  for (int i = 0; i < 100; ++i) {
    const SetChoice c = choose_set(s, {}, splitter);
    EXPECT_FALSE(c.fell_back);
    if (c.set == SetKind::Canary) ++canary;
  }
  EXPECT_EQ(canary, 25);
}

TEST(SetChoice, ForcedChoiceDoesNotMoveTheSplit) {
  const RoutingSnapshot s = snapshot(true, true, 5000);
  weights::Splitter splitter;
  EXPECT_EQ(choose_set(s, {ForcedSet::Canary}, splitter).set, SetKind::Canary);
  EXPECT_EQ(choose_set(s, {ForcedSet::Stable}, splitter).set, SetKind::Stable);
  EXPECT_EQ(choose_set(s, {ForcedSet::Stable}, splitter).set, SetKind::Stable);
  // The splitter saw none of the forced requests: its first draw at 50% is stable, its second canary.
  EXPECT_EQ(choose_set(s, {}, splitter).set, SetKind::Stable);
  EXPECT_EQ(choose_set(s, {}, splitter).set, SetKind::Canary);
}

TEST(SetChoice, FallsBackToTheOtherSetWhenTheChosenHasNoHealthyEndpoint) {
  weights::Splitter splitter;
  SetChoice c = choose_set(snapshot(true, false, 10000), {}, splitter);
  EXPECT_EQ(c.set, SetKind::Stable);
  EXPECT_TRUE(c.fell_back);
  c = choose_set(snapshot(false, true, 0), {ForcedSet::Stable}, splitter);
  EXPECT_EQ(c.set, SetKind::Canary);  // even a forced choice falls back
  EXPECT_TRUE(c.fell_back);
}

TEST(SetChoice, NoneWhenNeitherSetHasAHealthyEndpoint) {
  weights::Splitter splitter;
  const SetChoice c = choose_set(snapshot(false, false, 5000), {}, splitter);
  EXPECT_EQ(c.set, SetKind::None);
  EXPECT_FALSE(c.fell_back);
}

TEST(FailureStreaks, ReportsAtTheThresholdAndStartsOver) {
  std::vector<std::string> reported;
  FailureStreaks streaks([&](const std::string& name) { reported.push_back(name); });
  RoutingSnapshot s = snapshot(true, true, 0);
  s.ejection_threshold = 3;
  const UpstreamEndpoint& e = s.sets[1][0];
  streaks.record(s, e, true);
  streaks.record(s, e, true);
  EXPECT_TRUE(reported.empty());
  streaks.record(s, e, true);
  EXPECT_EQ(reported, std::vector<std::string>{"ep2"});
  streaks.record(s, e, true);
  streaks.record(s, e, true);
  EXPECT_EQ(reported.size(), 1u);
}

TEST(FailureStreaks, SuccessResetsAndZeroThresholdIsOff) {
  int reports = 0;
  FailureStreaks streaks([&](const std::string&) { ++reports; });
  RoutingSnapshot s = snapshot(true, true, 0);
  s.ejection_threshold = 2;
  const UpstreamEndpoint& e = s.sets[0][1];
  streaks.record(s, e, true);
  streaks.record(s, e, false);
  streaks.record(s, e, true);
  EXPECT_EQ(reports, 0);
  s.ejection_threshold = 0;
  for (int i = 0; i < 5; ++i) streaks.record(s, e, true);
  EXPECT_EQ(reports, 0);
}

// Abort means zero (contract section 7): after a rollback the canary gets no request at all.
RoutingSnapshot aborted(bool stable_healthy, config::BasisPoints weight) {
  RoutingSnapshot s = snapshot(stable_healthy, true, weight);
  s.canary_aborted = true;
  return s;
}

TEST(SetChoice, AbortedCanaryIgnoresTheOverride) {
  weights::Splitter splitter;
  const SetChoice c = choose_set(aborted(true, 0), {ForcedSet::Canary}, splitter);
  EXPECT_EQ(c.set, SetKind::Stable);
  EXPECT_FALSE(c.fell_back);
}

TEST(SetChoice, AbortedCanaryGetsNoDrawEvenWithAWeight) {
  weights::Splitter splitter;
  const RoutingSnapshot s = aborted(true, 10000);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(choose_set(s, {}, splitter).set, SetKind::Stable);
}

TEST(SetChoice, AbortedCanaryIsNoFallback) {
  weights::Splitter splitter;
  EXPECT_EQ(choose_set(aborted(false, 0), {}, splitter).set, SetKind::None);
  EXPECT_EQ(choose_set(aborted(false, 0), {ForcedSet::Canary}, splitter).set, SetKind::None);
  EXPECT_EQ(choose_set(aborted(false, 0), {ForcedSet::Stable}, splitter).set, SetKind::None);
}

// Rollout evidence (contract section 7): only the requests the weight placed count.
TEST(SetChoice, TheWeightPlacesEveryDrawnRequestInEitherSet) {
  const RoutingSnapshot s = snapshot(true, true, 5000);
  weights::Splitter splitter;
  const SetChoice first = choose_set(s, {}, splitter);
  const SetChoice second = choose_set(s, {}, splitter);
  EXPECT_NE(first.set, second.set);  // one stable, one canary at 50 %
  EXPECT_TRUE(first.weight_placed);
  EXPECT_TRUE(second.weight_placed);
}

TEST(SetChoice, AForcedRequestIsNotPlacedByTheWeight) {
  const RoutingSnapshot s = snapshot(true, true, 5000);
  weights::Splitter splitter;
  EXPECT_FALSE(choose_set(s, {ForcedSet::Canary}, splitter).weight_placed);
  EXPECT_FALSE(choose_set(s, {ForcedSet::Stable}, splitter).weight_placed);
}

TEST(SetChoice, AFallbackIsNotPlacedByTheWeight) {
  weights::Splitter splitter;
  SetChoice c = choose_set(snapshot(true, false, 10000), {}, splitter);
  EXPECT_TRUE(c.fell_back);
  EXPECT_FALSE(c.weight_placed);
  c = choose_set(snapshot(false, true, 0), {}, splitter);
  EXPECT_EQ(c.set, SetKind::Canary);
  EXPECT_FALSE(c.weight_placed);
}

TEST(SetChoice, NoSetOrAnAbortedCanaryIsNotPlacedByTheWeight) {
  weights::Splitter splitter;
  EXPECT_FALSE(choose_set(snapshot(false, false, 5000), {}, splitter).weight_placed);
  EXPECT_FALSE(choose_set(aborted(true, 5000), {}, splitter).weight_placed);
  EXPECT_FALSE(choose_set(aborted(false, 5000), {}, splitter).weight_placed);
}

}  // namespace
}  // namespace canaryd::proxy
