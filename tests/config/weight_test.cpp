#include "config/weight.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace canaryd::config {
namespace {

std::optional<BasisPoints> text(std::string_view t) {
  std::string error;
  return parse_weight_text(t, error);
}

std::optional<BasisPoints> dbl(double d) {
  std::string error;
  return weight_from_double(d, error);
}

TEST(WeightTest, ParsesIntegersAndUpToTwoDecimals) {
  EXPECT_EQ(text("0"), 0u);
  EXPECT_EQ(text("10"), 1000u);
  EXPECT_EQ(text("2.5"), 250u);
  EXPECT_EQ(text("33.33"), 3333u);
  EXPECT_EQ(text("0.01"), 1u);
  EXPECT_EQ(text("100"), 10000u);
  EXPECT_EQ(text("100.00"), 10000u);
  EXPECT_EQ(text("0.5"), 50u);
}

TEST(WeightTest, RejectsThreeDecimalsInsteadOfRounding) {
  std::string error;
  EXPECT_FALSE(parse_weight_text("10.125", error).has_value());
  EXPECT_EQ(error, "must be a number from 0 to 100 with at most two decimals, got 10.125");
}

TEST(WeightTest, RejectsValuesAbove100InsteadOfClamping) {
  EXPECT_FALSE(text("101").has_value());
  EXPECT_FALSE(text("100.01").has_value());
  EXPECT_FALSE(text("1000").has_value());
}

TEST(WeightTest, RejectsSignsExponentsHexAndSpaces) {
  for (const char* t :
       {"-1", "+5", "1e2", "0x10", " 5", "5 ", "", ".5", "5.", "1,5", "abc", "nan", "inf", "05", "010", "1..2", "5%"}) {
    EXPECT_FALSE(text(t).has_value()) << t;
  }
}

TEST(WeightTest, ErrorQuotesTextWithSpaces) {
  std::string error;
  EXPECT_FALSE(parse_weight_text(" 5", error).has_value());
  EXPECT_EQ(error, "must be a number from 0 to 100 with at most two decimals, got \" 5\"");
}

TEST(WeightTest, FromDoubleAcceptsTwoDecimals) {
  EXPECT_EQ(dbl(0.0), 0u);
  EXPECT_EQ(dbl(10.0), 1000u);
  EXPECT_EQ(dbl(33.33), 3333u);  // 3332.9999999999995 after scaling
  EXPECT_EQ(dbl(0.01), 1u);
  EXPECT_EQ(dbl(100.0), 10000u);
  EXPECT_EQ(dbl(2.5), 250u);
}

TEST(WeightTest, FromDoubleRejectsNonFiniteOutOfRangeAndExtraDecimals) {
  EXPECT_FALSE(dbl(std::nan("")).has_value());
  EXPECT_FALSE(dbl(std::numeric_limits<double>::infinity()).has_value());
  EXPECT_FALSE(dbl(-std::numeric_limits<double>::infinity()).has_value());
  EXPECT_FALSE(dbl(-1.0).has_value());
  EXPECT_FALSE(dbl(-0.01).has_value());
  EXPECT_FALSE(dbl(100.01).has_value());
  EXPECT_FALSE(dbl(101.0).has_value());
  EXPECT_FALSE(dbl(10.125).has_value());
  EXPECT_FALSE(dbl(0.001).has_value());
  std::string error;
  EXPECT_FALSE(weight_from_double(10.125, error).has_value());
  EXPECT_EQ(error, "must be a number from 0 to 100 with at most two decimals, got 10.125");
}

TEST(WeightTest, FormatsShortest) {
  EXPECT_EQ(format_weight(0), "0");
  EXPECT_EQ(format_weight(1000), "10");
  EXPECT_EQ(format_weight(250), "2.5");
  EXPECT_EQ(format_weight(3333), "33.33");
  EXPECT_EQ(format_weight(5), "0.05");
  EXPECT_EQ(format_weight(10000), "100");
}

TEST(WeightTest, PercentIsBasisPointsOverHundred) {
  EXPECT_DOUBLE_EQ(weight_percent(1050), 10.5);
  EXPECT_DOUBLE_EQ(weight_percent(0), 0.0);
  EXPECT_DOUBLE_EQ(weight_percent(10000), 100.0);
}

TEST(WeightTest, EveryBasisPointRoundTripsThroughTextAndDouble) {
  for (BasisPoints bp = 0; bp <= kMaxBasisPoints; ++bp) {
    ASSERT_EQ(text(format_weight(bp)), bp);
    ASSERT_EQ(dbl(weight_percent(bp)), bp);
  }
}

}  // namespace
}  // namespace canaryd::config
