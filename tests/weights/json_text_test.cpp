// Unit tests of canaryd's JSON text: numbers printed as written, escaping, duplicate keys, number texts.
#include "weights/json_text.hpp"

#include <gtest/gtest.h>

#include "tests/config/noting_error.hpp"

#include <limits>

#include "config/weight.hpp"

namespace canaryd::weights {
namespace {

TEST(JsonTextTest, DoublesPrintAsWritten) {
  EXPECT_EQ(to_json_text(boost::json::value(10.0)), "10.0");
  EXPECT_EQ(to_json_text(boost::json::value(33.33)), "33.33");
  EXPECT_EQ(to_json_text(boost::json::value(0.01)), "0.01");
  EXPECT_EQ(to_json_text(boost::json::value(0.0)), "0.0");
  EXPECT_EQ(to_json_text(boost::json::value(99.99)), "99.99");
  EXPECT_EQ(to_json_text(boost::json::value(std::numeric_limits<double>::infinity())), "null");
}

TEST(JsonTextTest, EveryPercentRoundTrips) {
  for (config::BasisPoints bp = 0; bp <= config::kMaxBasisPoints; ++bp) {
    const double pct = static_cast<double>(bp) / 100.0;
    const auto text = to_json_text(boost::json::value(pct));
    std::string error;
    const auto back = noting_error(parse_json(text), error);
    ASSERT_TRUE(back) << text;
    ASSERT_EQ(back->as_double(), pct) << text;
  }
}

TEST(JsonTextTest, StringsAreEscapedAndAlwaysValidUtf8) {
  EXPECT_EQ(to_json_text(boost::json::value("a\"b\\c\n\x01")), R"("a\"b\\c\n\u0001")");
  EXPECT_EQ(to_json_text(boost::json::value("caf\xC3\xA9")), "\"caf\xC3\xA9\"");
  EXPECT_EQ(to_json_text(boost::json::value("bad\xFF")), "\"bad\xEF\xBF\xBD\"");
  EXPECT_EQ(to_json_text(boost::json::value("cut\xC3")), "\"cut\xEF\xBF\xBD\"");
}

TEST(JsonTextTest, ContainersAndScalars) {
  const auto v = boost::json::parse(R"({"a": [1, -2, true, null, "x"], "b": {}})");
  EXPECT_EQ(to_json_text(v), R"({"a":[1,-2,true,null,"x"],"b":{}})");
}

TEST(JsonTextTest, ParseReportsWhereItStopped) {
  std::string error;
  EXPECT_FALSE(noting_error(parse_json("{not json"), error));
  EXPECT_EQ(error.rfind("invalid JSON at offset 1", 0), 0u) << error;
  EXPECT_FALSE(noting_error(parse_json(R"({"a": 1)"), error));
  EXPECT_NE(error.find("offset 7"), std::string::npos) << error;
  EXPECT_FALSE(noting_error(parse_json(R"({} {})"), error));
  EXPECT_FALSE(noting_error(parse_json(""), error));
  EXPECT_TRUE(noting_error(parse_json(" {\"a\": 1} "), error));
  EXPECT_FALSE(noting_error(parse_json(R"({"a": 1} x)"), error));
  EXPECT_NE(error.find("offset 9"), std::string::npos) << error;
}

TEST(JsonTextTest, DuplicateKeysAreRefusedAtAnyDepth) {
  std::string error;
  EXPECT_FALSE(noting_error(parse_json(R"({"canary_weight": 10, "canary_weight": 90})"), error));
  EXPECT_EQ(error, R"(duplicate key "canary_weight")");
  EXPECT_FALSE(noting_error(parse_json(R"({"selector": {"version": "v2", "version": "v1"}})"), error));
  EXPECT_EQ(error, R"(duplicate key "version" in /selector)");
  EXPECT_FALSE(noting_error(parse_json(R"({"steps": [{}, {"a/b~": {"w": 1, "w": 2}}]})"), error));
  EXPECT_EQ(error, R"(duplicate key "w" in /steps/1/a~1b~0)");
  // The same key in different objects is no duplicate.
  const auto v = noting_error(parse_json(R"({"a": {"x": 1}, "b": {"x": 2}, "c": [{"x": 3}, {"x": 4}]})"), error);
  ASSERT_TRUE(v) << error;
  EXPECT_EQ(v->at("c").at(1).at("x"), 4);
}

TEST(JsonTextTest, NumberTextsAreKeptAsWritten) {
  std::string error;
  NumberTexts numbers;
  const auto v = noting_error(
      parse_json(R"({"w": 33.3300000000000001, "n": [1, -0, 1e1, {"x": 0.000000001}], "u": 18446744073709551615})",
                 &numbers),
      error);
  ASSERT_TRUE(v) << error;
  EXPECT_EQ(v->at("w").as_double(), 33.33) << "the double cannot tell them apart";
  ASSERT_TRUE(numbers.find("/w"));
  EXPECT_EQ(*numbers.find("/w"), "33.3300000000000001");
  EXPECT_EQ(*numbers.find("/n/0"), "1");
  EXPECT_EQ(*numbers.find("/n/1"), "-0");
  EXPECT_EQ(*numbers.find("/n/2"), "1e1");
  EXPECT_EQ(*numbers.find("/n/3/x"), "0.000000001");
  EXPECT_EQ(*numbers.find("/u"), "18446744073709551615");
  EXPECT_EQ(numbers.find("/n"), nullptr);
  EXPECT_EQ(numbers.find("/missing"), nullptr);

  NumberTexts top;
  ASSERT_TRUE(noting_error(parse_json(" 12.50 ", &top), error));
  EXPECT_EQ(*top.find(""), "12.50");
}

TEST(JsonTextTest, ControlCharactersAreAlwaysEscaped) {
  // DEL and C1 (here U+009B, the 8-bit CSI) are legal raw in JSON, but a terminal may act on them.
  EXPECT_EQ(to_json_text(boost::json::value("a\x7f" "b\xC2\x9B" "c\x1b[2J")), R"("a\u007fb\u009bc\u001b[2J")");
  EXPECT_EQ(to_json_text(boost::json::value("\xC2\xA0")), "\"\xC2\xA0\"") << "U+00A0 is printable";
}

}  // namespace
}  // namespace canaryd::weights
