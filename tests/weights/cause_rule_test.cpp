// Unit tests of the cause rule and the UTF-8 helpers behind it.
#include "weights/cause_rule.hpp"

#include <gtest/gtest.h>

#include <string>

#include "weights/utf8.hpp"

namespace canaryd::weights {
namespace {

TEST(CauseRuleTest, PlainTextUpToTheBoundIsFine) {
  EXPECT_EQ(cause_problem(""), "");
  EXPECT_EQ(cause_problem("canaryctl weight 20 --cause 'ramp: step 2'"), "");
  EXPECT_EQ(cause_problem("caf\xC3\xA9 \xE2\x80\x94 \xF0\x9F\x9A\x80"), "");
  EXPECT_EQ(cause_problem(std::string(kMaxCauseBytes, 'x')), "");
}

TEST(CauseRuleTest, NamesWhatIsWrong) {
  EXPECT_EQ(cause_problem(std::string(kMaxCauseBytes + 1, 'x')), "longer than 1024 bytes (1025)");
  EXPECT_EQ(cause_problem("a\nb"), "control character U+000A at byte 1");
  EXPECT_EQ(cause_problem("\x1b[31m"), "control character U+001B at byte 0");
  EXPECT_EQ(cause_problem("x\x7f"), "control character U+007F at byte 1");
  EXPECT_EQ(cause_problem("x\xC2\x85"), "control character U+0085 at byte 1");
  EXPECT_EQ(cause_problem(std::string("nul\0", 4)), "control character U+0000 at byte 3");
  EXPECT_EQ(cause_problem("bad\xFF"), "not valid UTF-8 at byte 3");
  EXPECT_EQ(cause_problem("cut\xE2\x80"), "not valid UTF-8 at byte 3");
  EXPECT_EQ(cause_problem("overlong\xC0\xAF"), "not valid UTF-8 at byte 8");
  EXPECT_EQ(cause_problem("surrogate\xED\xA0\x80"), "not valid UTF-8 at byte 9");
}

TEST(Utf8Test, DecodesAndRefusesInvalidSequences) {
  EXPECT_EQ(decode_utf8("A", 0).code_point, U'A');
  EXPECT_EQ(decode_utf8("\xC3\xA9", 0).length, 2u);
  EXPECT_EQ(decode_utf8("\xE2\x80\x94", 0).code_point, U'\u2014');
  EXPECT_EQ(decode_utf8("\xF0\x9F\x9A\x80", 0).code_point, U'\U0001F680');
  for (const char* bad : {"\x80", "\xC1\xBF", "\xE0\x80\x80", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xC3"}) {
    EXPECT_EQ(decode_utf8(bad, 0).length, 0u) << bad;
  }
}

TEST(Utf8Test, PrefixNeverCutsASequence) {
  EXPECT_EQ(utf8_prefix("abc", 5), "abc");
  EXPECT_EQ(utf8_prefix("abc", 2), "ab");
  EXPECT_EQ(utf8_prefix("a\xE2\x80\x94", 3), "a");
  EXPECT_EQ(utf8_prefix("a\xE2\x80\x94", 4), "a\xE2\x80\x94");
  EXPECT_EQ(utf8_prefix("a\xE2\x80\x94z", 4), "a\xE2\x80\x94");
  EXPECT_EQ(utf8_prefix("\xF0\x9F\x9A\x80", 3), "");
}

TEST(Utf8Test, ControlCharactersAreC0DelAndC1) {
  EXPECT_TRUE(is_control_character(0));
  EXPECT_TRUE(is_control_character(0x1F));
  EXPECT_FALSE(is_control_character(0x20));
  EXPECT_FALSE(is_control_character(0x7E));
  EXPECT_TRUE(is_control_character(0x7F));
  EXPECT_TRUE(is_control_character(0x9F));
  EXPECT_FALSE(is_control_character(0xA0));
}

}  // namespace
}  // namespace canaryd::weights
