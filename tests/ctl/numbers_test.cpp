// Unit tests of canaryctl's number rules: percents kept as typed, positive integers, negative numbers
// vs options.
#include "ctl/numbers.hpp"

#include <gtest/gtest.h>

namespace canaryd::ctl {
namespace {

TEST(PercentJsonTextTest, KeepsEveryDigitThatCounts) {
  EXPECT_EQ(percent_json_text("20"), "20");
  EXPECT_EQ(percent_json_text("33.33"), "33.33");
  EXPECT_EQ(percent_json_text("0.01"), "0.01");
  EXPECT_EQ(percent_json_text("10.50"), "10.50");
  EXPECT_EQ(percent_json_text("0"), "0");
  EXPECT_EQ(percent_json_text("000"), "0");
  EXPECT_EQ(percent_json_text("05"), "5");
  EXPECT_EQ(percent_json_text(".5"), "0.5");
  EXPECT_EQ(percent_json_text("20."), "20");
  EXPECT_EQ(percent_json_text("+20"), "20");
  EXPECT_EQ(percent_json_text("-5"), "-5");
  EXPECT_EQ(percent_json_text("100.001"), "100.001");  // the server refuses it; we do not round
}

TEST(PercentJsonTextTest, RefusesWhatIsNotAPlainDecimal) {
  for (const char* bad : {"", ".", "-", "+", "abc", "1e2", "10%", "1,5", "1.2.3", " 1", "0x10", "--5", "5-"}) {
    EXPECT_FALSE(percent_json_text(bad).has_value()) << bad;
  }
}

TEST(ParsePositiveIntegerTest, AcceptsOnlyPositiveDecimalIntegers) {
  EXPECT_EQ(parse_positive_integer("1"), 1u);
  EXPECT_EQ(parse_positive_integer("18446744073709551615"), 18446744073709551615u);
  for (const char* bad : {"", "0", "00", "-1", "+1", "1.0", "x", "18446744073709551616", " 1"}) {
    EXPECT_FALSE(parse_positive_integer(bad).has_value()) << bad;
  }
}

TEST(LooksNegativeNumberTest, TellsNumbersFromOptions) {
  EXPECT_TRUE(looks_negative_number("-5"));
  EXPECT_TRUE(looks_negative_number("-.5"));
  EXPECT_FALSE(looks_negative_number("-o"));
  EXPECT_FALSE(looks_negative_number("--5"));
  EXPECT_FALSE(looks_negative_number("-"));
  EXPECT_FALSE(looks_negative_number("-."));
}

}  // namespace
}  // namespace canaryd::ctl
