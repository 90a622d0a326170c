// Unit tests of the served share's one-minute window on a fake clock: null before any request, the
// deltas of the last 12 samples, late samples, counter resets and rounding.
#include "weights/served_share.hpp"

#include <gtest/gtest.h>

namespace canaryd::weights {
namespace {

using namespace std::chrono_literals;
using Clock = ServedShare::Clock;

const Clock::time_point kStart = Clock::time_point{} + 1000h;

TEST(ServedShareTest, NullBeforeAnySample) {
  ServedShare s;
  const auto n = s.numbers();
  EXPECT_FALSE(n.stable.has_value());
  EXPECT_FALSE(n.canary.has_value());
  EXPECT_EQ(n.requests.total(), 0u);
}

TEST(ServedShareTest, NullWhileNoRequestArrived) {
  ServedShare s;
  for (int i = 0; i < 3; ++i) s.sample(kStart + i * 5s, {});
  EXPECT_FALSE(s.numbers().stable.has_value());
  EXPECT_FALSE(s.numbers().canary.has_value());
}

TEST(ServedShareTest, SharesOfTheFirstSample) {
  ServedShare s;
  s.sample(kStart, {75, 25, 0});
  const auto n = s.numbers();
  EXPECT_DOUBLE_EQ(*n.stable, 75.0);
  EXPECT_DOUBLE_EQ(*n.canary, 25.0);
  EXPECT_EQ(n.requests.canary, 25u);
}

TEST(ServedShareTest, RequestsWithoutASetCountInTheTotalOnly) {
  ServedShare s;
  s.sample(kStart, {50, 0, 50});
  EXPECT_DOUBLE_EQ(*s.numbers().stable, 50.0);
  EXPECT_DOUBLE_EQ(*s.numbers().canary, 0.0);
}

TEST(ServedShareTest, WindowKeepsTheLastTwelveDeltas) {
  ServedShare s;
  // 12 samples of 10 stable requests each, then 12 of 10 canary requests each: cumulative totals.
  for (int i = 1; i <= 12; ++i) s.sample(kStart + i * 5s, {10ull * i, 0, 0});
  EXPECT_DOUBLE_EQ(*s.numbers().stable, 100.0);
  for (int i = 1; i <= 6; ++i) s.sample(kStart + (12 + i) * 5s, {120, 10ull * i, 0});
  EXPECT_DOUBLE_EQ(*s.numbers().canary, 50.0);
  EXPECT_EQ(s.numbers().requests.total(), 120u);
  for (int i = 7; i <= 12; ++i) s.sample(kStart + (12 + i) * 5s, {120, 10ull * i, 0});
  EXPECT_DOUBLE_EQ(*s.numbers().canary, 100.0);
  EXPECT_DOUBLE_EQ(*s.numbers().stable, 0.0);
}

TEST(ServedShareTest, NullAgainAMinuteAfterTheLastRequest) {
  ServedShare s;
  s.sample(kStart, {3, 1, 0});
  for (int i = 1; i < 12; ++i) s.sample(kStart + i * 5s, {3, 1, 0});
  EXPECT_TRUE(s.numbers().canary.has_value());
  s.sample(kStart + 60s, {3, 1, 0});
  EXPECT_FALSE(s.numbers().canary.has_value());
  EXPECT_FALSE(s.numbers().stable.has_value());
}

TEST(ServedShareTest, ALateTimerDropsSlotsOlderThanTheWindow) {
  ServedShare s;
  s.sample(kStart, {100, 0, 0});
  s.sample(kStart + 5s, {100, 10, 0});
  // The next sample comes 70 s later: the two older slots are outside the minute it ends.
  s.sample(kStart + 75s, {100, 10, 0});
  EXPECT_FALSE(s.numbers().canary.has_value());
  s.sample(kStart + 80s, {130, 20, 0});
  EXPECT_DOUBLE_EQ(*s.numbers().stable, 75.0);
}

TEST(ServedShareTest, ACounterThatWentDownCountsFromZero) {
  ServedShare s;
  s.sample(kStart, {100, 100, 0});
  s.sample(kStart + 5s, {10, 30, 0});
  EXPECT_EQ(s.numbers().requests.stable, 110u);
  EXPECT_EQ(s.numbers().requests.canary, 130u);
}

TEST(ServedShareTest, RoundsToOneDecimal) {
  EXPECT_DOUBLE_EQ(*ServedShare::percent(1, 3), 33.3);
  EXPECT_DOUBLE_EQ(*ServedShare::percent(2, 3), 66.7);
  EXPECT_DOUBLE_EQ(*ServedShare::percent(1, 2000), 0.1);
  EXPECT_DOUBLE_EQ(*ServedShare::percent(1, 20001), 0.0);
  EXPECT_DOUBLE_EQ(*ServedShare::percent(7, 7), 100.0);
  EXPECT_FALSE(ServedShare::percent(0, 0).has_value());
}

}  // namespace
}  // namespace canaryd::weights
