// Unit tests of passive ejection: times, the share bound per set, growing ejections, reload.
#include "proxy/control/passive_ejection.hpp"

#include <gtest/gtest.h>

namespace canaryd::proxy {
namespace {

using std::chrono::milliseconds;
using Clock = PassiveEjection::Clock;

const std::vector<std::string> kFour = {"a:1", "b:1", "c:1", "d:1"};

PassiveEjection make(unsigned percent, milliseconds base = milliseconds(1000)) {
  PassiveEjection e;
  e.configure(base, percent);
  return e;
}

TEST(PassiveEjectionTest, EjectsForTheBaseTimeThenReturns) {
  auto e = make(50);
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  auto length = e.report_failures("a:1", kFour, t0);
  ASSERT_TRUE(length.has_value());
  EXPECT_EQ(*length, milliseconds(1000));
  EXPECT_TRUE(e.ejected("a:1"));
  EXPECT_FALSE(e.ejected("b:1"));
  EXPECT_EQ(e.next_expiry(), t0 + milliseconds(1000));
  EXPECT_TRUE(e.expire(t0 + milliseconds(999)).empty());
  EXPECT_EQ(e.expire(t0 + milliseconds(1000)), std::vector<std::string>{"a:1"});
  EXPECT_FALSE(e.ejected("a:1"));
  EXPECT_FALSE(e.next_expiry().has_value());
}

TEST(PassiveEjectionTest, AnEjectedEndpointIsNotEjectedAgain) {
  auto e = make(100);
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  ASSERT_TRUE(e.report_failures("a:1", kFour, t0));
  EXPECT_FALSE(e.report_failures("a:1", kFour, t0 + milliseconds(500)));
  EXPECT_EQ(e.next_expiry(), t0 + milliseconds(1000));  // not extended
}

TEST(PassiveEjectionTest, NeverMoreThanTheShareOfASet) {
  auto e = make(50);
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  EXPECT_TRUE(e.report_failures("a:1", kFour, t0));
  EXPECT_TRUE(e.report_failures("b:1", kFour, t0));
  EXPECT_FALSE(e.report_failures("c:1", kFour, t0)) << "a third of four is over 50 %";
  EXPECT_FALSE(e.ejected("c:1"));
  // Once one is back, another may go.
  e.expire(t0 + milliseconds(1000));
  EXPECT_TRUE(e.report_failures("c:1", kFour, t0 + milliseconds(1000)));
}

TEST(PassiveEjectionTest, TheShareRoundsDown) {
  const std::vector<std::string> three = {"a:1", "b:1", "c:1"};
  auto e = make(50);
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  EXPECT_TRUE(e.report_failures("a:1", three, t0));
  EXPECT_FALSE(e.report_failures("b:1", three, t0));
  // A set of one is never emptied below 100 %.
  EXPECT_FALSE(make(50).report_failures("z:1", {"z:1"}, t0));
  EXPECT_FALSE(make(99).report_failures("z:1", {"z:1"}, t0));
  EXPECT_TRUE(make(100).report_failures("z:1", {"z:1"}, t0));
}

TEST(PassiveEjectionTest, OtherSetsDoNotCountAgainstTheShare) {
  auto e = make(50);
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  EXPECT_TRUE(e.report_failures("a:1", {"a:1", "b:1"}, t0));
  EXPECT_TRUE(e.report_failures("x:1", {"x:1", "y:1"}, t0));
}

TEST(PassiveEjectionTest, ZeroPercentNeverEjects) {
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  EXPECT_FALSE(make(0).report_failures("a:1", kFour, t0));
}

TEST(PassiveEjectionTest, RepeatedEjectionsGrowAndAWellPeriodResetsThem) {
  auto e = make(100);
  auto t = Clock::time_point{} + std::chrono::hours(1);
  milliseconds expected(1000);
  for (int i = 0; i < 12; ++i) {
    auto length = e.report_failures("a:1", kFour, t);
    ASSERT_TRUE(length.has_value());
    EXPECT_EQ(*length, expected) << "ejection " << i;
    t += *length;
    e.expire(t);
    t += milliseconds(10);  // fails again soon after coming back
    expected = std::min(expected * 2, PassiveEjection::kMaxEjection);
  }
  EXPECT_EQ(expected, PassiveEjection::kMaxEjection);
  // Well for longer than its last ejection: back to the base time.
  t += PassiveEjection::kMaxEjection;
  EXPECT_EQ(e.report_failures("a:1", kFour, t), milliseconds(1000));
}

TEST(PassiveEjectionTest, RetainForgetsRemovedEndpoints) {
  auto e = make(100);
  const auto t0 = Clock::time_point{} + std::chrono::hours(1);
  ASSERT_TRUE(e.report_failures("a:1", kFour, t0));
  ASSERT_TRUE(e.report_failures("b:1", kFour, t0));
  e.retain({"b:1", "c:1"});
  EXPECT_FALSE(e.ejected("a:1"));
  EXPECT_TRUE(e.ejected("b:1"));
  e.retain({});
  EXPECT_FALSE(e.ejected("b:1"));
  EXPECT_FALSE(e.next_expiry().has_value());
}

}  // namespace
}  // namespace canaryd::proxy
