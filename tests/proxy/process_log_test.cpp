// Unit tests of the process log's JSON format (log_format: json): one object a line with time, msg and
// the line's fields, numbers unquoted, control characters escaped.
#include "proxy/net/log.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace canaryd::proxy {
namespace {

TEST(ProcessLog, JsonLineHasTimeMessageAndFields) {
  const std::string line = format_json_log_line("2026-12-05T12:00:00Z", "endpoint 127.0.0.1:1 is now healthy",
                                                {{"endpoint", "127.0.0.1:1"}, {"status", "200", true}});
  EXPECT_EQ(line,
            R"({"time":"2026-12-05T12:00:00Z","msg":"endpoint 127.0.0.1:1 is now healthy","endpoint":"127.0.0.1:1",)"
            R"("status":200})");
}

TEST(ProcessLog, JsonLineEscapesTheMessage) {
  const std::string line = format_json_log_line("t", "a \"quoted\"\nline\x1b", {});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto v = boost::json::parse(line).as_object();
  EXPECT_EQ(v.at("msg").as_string(), "a \"quoted\"\nline\x1b");
}

TEST(ProcessLog, ANumberFieldThatIsNotANumberStaysText) {
  const auto v = boost::json::parse(format_json_log_line("t", "m", {{"n", "12x", true}})).as_object();
  EXPECT_EQ(v.at("n").as_string(), "12x");
}

}  // namespace
}  // namespace canaryd::proxy
