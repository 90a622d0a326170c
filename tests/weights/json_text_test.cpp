#include "weights/json_text.hpp"

#include <gtest/gtest.h>

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
    const auto back = parse_json(text, error);
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
  EXPECT_FALSE(parse_json("{not json", error));
  EXPECT_EQ(error.rfind("invalid JSON at offset 1", 0), 0u) << error;
  EXPECT_FALSE(parse_json(R"({"a": 1)", error));
  EXPECT_NE(error.find("offset 7"), std::string::npos) << error;
  EXPECT_FALSE(parse_json(R"({} {})", error));
  EXPECT_FALSE(parse_json("", error));
  EXPECT_TRUE(parse_json(" {\"a\": 1} ", error));
}

}  // namespace
}  // namespace canaryd::weights
