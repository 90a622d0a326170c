// Unit tests of making server text safe for a terminal (printable, json_for_terminal).
#include "ctl/terminal_text.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace canaryd::ctl {
namespace {

TEST(PrintableTest, EscapesControlCharactersAndInvalidBytesVisibly) {
  EXPECT_EQ(printable("plain text, caf\xC3\xA9 \xE2\x80\x94 ok"), "plain text, caf\xC3\xA9 \xE2\x80\x94 ok");
  EXPECT_EQ(printable("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(printable("\x1b[2J\x1b]0;owned\x07"), "\\x1b[2J\\x1b]0;owned\\x07");
  EXPECT_EQ(printable(std::string("nul\0del\x7f", 8)), "nul\\x00del\\x7f");
  EXPECT_EQ(printable("c1\xC2\x9B" "31m"), "c1\\u009b31m") << "U+009B is the 8-bit CSI";
  EXPECT_EQ(printable("bad\xFF\xC3"), "bad\\xff\\xc3");
}

TEST(JsonForTerminalTest, TheSameDocumentWithoutRawControls) {
  const std::string plain = R"({"cause": "a\nb \u001b[2J", "x": [1, 2]})";
  EXPECT_EQ(json_for_terminal(plain), plain) << "canaryd's own JSON is printed as is";
  EXPECT_EQ(json_for_terminal("{\n\t\"a\": 1\r\n}"), "{\n\t\"a\": 1\r\n}") << "whitespace stays";
  // DEL and C1 are legal raw inside JSON strings; escaped, the document means the same.
  const std::string raw = "{\"cause\": \"x\x7fy\xC2\x9Bz\"}";
  const std::string safe = json_for_terminal(raw);
  EXPECT_EQ(safe, R"({"cause": "x\u007fy\u009bz"})");
  EXPECT_EQ(boost::json::parse(safe), boost::json::parse(raw));
  EXPECT_EQ(json_for_terminal("\x1b[2Jnot json\xFF"), "\\u001b[2Jnot json\\ufffd");
}

}  // namespace
}  // namespace canaryd::ctl
