// Unit tests of canary weights: the text rule (two decimals, 0..100, no rounding or clamping) and printing.
#include "config/weight.hpp"

#include <gtest/gtest.h>

#include <charconv>
#include <string>

#include "tests/config/noting_error.hpp"

namespace canaryd::config {
namespace {

std::optional<BasisPoints> text(std::string_view t) {
  auto bp = parse_weight_text(t);
  if (!bp) return std::nullopt;
  return *bp;
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
  EXPECT_FALSE(noting_error(parse_weight_text("10.125"), error).ok());
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
  EXPECT_FALSE(noting_error(parse_weight_text(" 5"), error).ok());
  EXPECT_EQ(error, "must be a number from 0 to 100 with at most two decimals, got \" 5\"");
}

TEST(WeightTest, RejectsWhatADoubleWouldRound) {
  // The control API judges a JSON number by its text with this rule: as doubles, these were accepted as
  // 0 and 33.33 (and the last is the very same double as 33.33).
  for (const char* t : {"0.000000001", "33.3300000001", "33.3300000000000001", "10.000", "99.999999999999999"}) {
    std::string error;
    EXPECT_FALSE(noting_error(parse_weight_text(t), error).ok()) << t;
    EXPECT_EQ(error, std::string("must be a number from 0 to 100 with at most two decimals, got ") + t);
  }
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
    // A percent printed as the shortest text of its double (the status JSON, Python's json) reads back.
    char buf[32];
    const auto res = std::to_chars(buf, buf + sizeof buf, weight_percent(bp));
    ASSERT_EQ(text(std::string_view(buf, static_cast<std::size_t>(res.ptr - buf))), bp) << buf;
  }
}

}  // namespace
}  // namespace canaryd::config
