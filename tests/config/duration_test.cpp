// Unit tests of config durations: units, refusals, overflow, printing in the largest exact unit.
#include "config/duration.hpp"

#include <gtest/gtest.h>

namespace canaryd::config {
namespace {

using std::chrono::milliseconds;

TEST(DurationTest, ParsesEveryUnit) {
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("2s"), milliseconds(2000));
  EXPECT_EQ(parse_duration("1m"), milliseconds(60000));
  EXPECT_EQ(parse_duration("1h"), milliseconds(3600000));
  EXPECT_EQ(parse_duration("0s"), milliseconds(0));
}

TEST(DurationTest, RejectsAnythingButDigitsAndAUnit) {
  for (const char* text : {"", "s", "2", "2 s", " 2s", "2s ", "-2s", "+2s", "1.5s", "2S", "2sec", "2d", "1m30s", "soon",
                           "0x10s", "2ms2"}) {
    EXPECT_FALSE(parse_duration(text).has_value()) << text;
  }
}

TEST(DurationTest, RejectsValuesThatWouldOverflow) {
  EXPECT_FALSE(parse_duration("99999999999999999999ms").has_value());
  EXPECT_FALSE(parse_duration("9999999999999999h").has_value());
}

TEST(DurationTest, FormatsInTheLargestExactUnit) {
  EXPECT_EQ(format_duration(milliseconds(250)), "250ms");
  EXPECT_EQ(format_duration(milliseconds(2000)), "2s");
  EXPECT_EQ(format_duration(milliseconds(90000)), "90s");
  EXPECT_EQ(format_duration(milliseconds(60000)), "1m");
  EXPECT_EQ(format_duration(milliseconds(7200000)), "2h");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(0)), "0s");
}

TEST(DurationTest, FormatThenParseRoundTrips) {
  for (long long ms : {1LL, 999LL, 1000LL, 61000LL, 3600000LL, 5400000LL}) {
    EXPECT_EQ(parse_duration(format_duration(milliseconds(ms))), milliseconds(ms)) << ms;
  }
}

}  // namespace
}  // namespace canaryd::config
