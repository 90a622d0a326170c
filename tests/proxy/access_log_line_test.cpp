// Unit tests of one access log line: every field of contract section 10 in order, the time and duration
// formats, null for what a request did not have, and the JSON escaping of client-supplied text
// (quotes, control bytes, C1, invalid UTF-8), with the cut of an overlong target.
#include "proxy/dataplane/access_log_line.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include <boost/json.hpp>

namespace canaryd::proxy {
namespace {

using namespace std::chrono;

AccessRecord sample() {
  AccessRecord r;
  r.time = system_clock::time_point(milliseconds(1764936107123));  // 2025-12-05T12:01:47.123Z
  r.client = "10.1.2.3";
  r.method = "GET";
  r.target = "/a?b=c";
  r.status = 200;
  r.set = "canary";
  r.reason = "weight";
  r.endpoint = "127.0.0.1:18082";
  r.bytes_in = 78;
  r.bytes_out = 850;
  r.duration = microseconds(1234);
  return r;
}

std::string line_of(const AccessRecord& r) {
  SecondCache seconds;
  std::array<char, kMaxAccessLine> out{};
  const std::size_t n = format_access_line(r, seconds, out);
  return std::string(out.data(), n);
}

std::string escaped(std::string_view text, std::size_t limit = 1000) {
  std::array<char, 2000> out{};
  const std::size_t n = append_json_text(text, out, 0, limit);
  return n > out.size() ? "(overflow)" : std::string(out.data(), n);
}

TEST(AccessLogLine, EveryFieldInOrder) {
  EXPECT_EQ(line_of(sample()),
            R"({"time":"2025-12-05T12:01:47.123Z","client":"10.1.2.3","method":"GET","target":"/a?b=c","status":200,)"
            R"("set":"canary","reason":"weight","endpoint":"127.0.0.1:18082","bytes_in":78,"bytes_out":850,)"
            R"("duration_ms":1.234})"
            "\n");
}

TEST(AccessLogLine, NullWithoutReasonOrEndpoint) {
  AccessRecord r = sample();
  r.set = "none";
  r.reason = {};
  r.endpoint = {};
  r.status = 503;
  r.duration = microseconds(5);
  const auto v = boost::json::parse(line_of(r)).as_object();
  EXPECT_TRUE(v.at("reason").is_null());
  EXPECT_TRUE(v.at("endpoint").is_null());
  EXPECT_EQ(v.at("set").as_string(), "none");
  EXPECT_DOUBLE_EQ(v.at("duration_ms").to_number<double>(), 0.005);
  EXPECT_EQ(v.size(), 11u);
}

TEST(AccessLogLine, MillisecondsAreZeroPaddedAndTheSecondCacheFollowsTheClock) {
  SecondCache seconds;
  EXPECT_EQ(seconds.text(0), "1970-01-01T00:00:00");
  EXPECT_EQ(seconds.text(86401), "1970-01-02T00:00:01");
  AccessRecord r = sample();
  r.time = system_clock::time_point(milliseconds(1764936107007));
  r.duration = microseconds(2000005);
  const std::string line = line_of(r);
  EXPECT_NE(line.find(R"("time":"2025-12-05T12:01:47.007Z")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("duration_ms":2000.005})"), std::string::npos) << line;
}

TEST(AccessLogLine, EscapesClientText) {
  EXPECT_EQ(escaped("plain/text?x=1"), "plain/text?x=1");
  EXPECT_EQ(escaped("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(escaped(std::string("\x01\n\r\t\x7f", 5)), "\\u0001\\n\\r\\t\\u007f");
  EXPECT_EQ(escaped(std::string("nul\0x", 5)), "nul\\u0000x");
  EXPECT_EQ(escaped("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac");  // valid UTF-8 stays
  EXPECT_EQ(escaped("\xc2\x85"), "\\u0085");                                // C1 control (NEL)
  EXPECT_EQ(escaped("a\xff" "b"), "a\\ufffdb");                              // not UTF-8
  EXPECT_EQ(escaped("\xc0\xaf"), "\\ufffd\\ufffd");                          // overlong '/'
  EXPECT_EQ(escaped("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");               // a surrogate
  EXPECT_EQ(escaped("\xe2\x82"), "\\ufffd\\ufffd");                          // cut short
}

TEST(AccessLogLine, HostileTargetStillParsesAsTheSameText) {
  AccessRecord r = sample();
  const std::string target = "/x\"},\"status\":999,\x1b[2J\n\xc3\xa9";
  r.target = target;
  r.method = "G\"ET";
  const auto v = boost::json::parse(line_of(r)).as_object();
  EXPECT_EQ(v.at("target").as_string(), target);
  EXPECT_EQ(v.at("method").as_string(), "G\"ET");
  EXPECT_EQ(v.at("status").as_int64(), 200);
}

TEST(AccessLogLine, CutsAnOverlongTextAtACharacterWithDots) {
  EXPECT_EQ(escaped("abcdefghij", 10), "abcdefghij");
  EXPECT_EQ(escaped("abcdefghijk", 10), "abcdefg...");
  EXPECT_EQ(escaped("ab\"cdefghij", 8), "ab\\\"c...");
  EXPECT_EQ(escaped("ab\x01" "cdefgh", 8), "ab...");  // \u0001 would not leave room for the dots
  AccessRecord r = sample();
  const std::string huge(100000, 'x');
  r.target = huge;
  const std::string line = line_of(r);
  ASSERT_FALSE(line.empty());
  const auto v = boost::json::parse(line).as_object();
  EXPECT_EQ(v.at("target").as_string().size(), kMaxEscapedTarget);
  EXPECT_TRUE(v.at("target").as_string().ends_with("..."));
}

TEST(AccessLogLine, ReportsWhenItDoesNotFit) {
  SecondCache seconds;
  std::array<char, 64> small{};
  EXPECT_EQ(format_access_line(sample(), seconds, small), 0u);
  std::array<char, 4> tiny{};
  EXPECT_GT(append_json_text("abcdef", tiny, 0, 100), tiny.size());
}

}  // namespace
}  // namespace canaryd::proxy
