// Unit tests of the logging keys (contract section 10 and the process log): access_log {path, format}
// and log_format, their defaults, and each refusal with its field path.
#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "tests/config/minimal_config.hpp"

namespace canaryd::config {
namespace {


LoadResult load_with(const std::string& extra) { return test_support::load_minimal_with(extra); }

Config must_load(const std::string& extra) {
  LoadResult r = load_with(extra);
  EXPECT_TRUE(r.ok()) << extra << ": " << (r ? "" : r.error().front());
  return r ? *r : Config{};
}

std::string single_error(const std::string& extra) {
  LoadResult r = load_with(extra);
  if (r.ok()) return "(loaded)";
  EXPECT_EQ(r.error().size(), 1u);
  return r.error().front();
}

TEST(LoggingConfigTest, AccessLogIsOffAndTheProcessLogTextByDefault) {
  const Config c = must_load("");
  EXPECT_EQ(c.access_log.path, "");
  EXPECT_EQ(c.access_log.format, AccessLog::Format::Json);
  EXPECT_EQ(c.log_format, LogFormat::Text);
}

TEST(LoggingConfigTest, ReadsEveryKey) {
  const Config c = must_load("access_log: {path: /var/log/canaryd/access.log, format: json}\nlog_format: json\n");
  EXPECT_EQ(c.access_log.path, "/var/log/canaryd/access.log");
  EXPECT_EQ(c.log_format, LogFormat::Json);
  EXPECT_EQ(must_load("log_format: text\n").log_format, LogFormat::Text);
}

TEST(LoggingConfigTest, EmptyOrNullAccessLogIsOff) {
  EXPECT_EQ(must_load("access_log:\n").access_log.path, "");
  EXPECT_EQ(must_load("access_log: {path: \"\"}\n").access_log.path, "");
  EXPECT_EQ(must_load("access_log: {path: /tmp/a.log}\n").access_log.format, AccessLog::Format::Json);
}

TEST(LoggingConfigTest, RefusesOtherFormats) {
  EXPECT_EQ(single_error("access_log: {path: /tmp/a.log, format: combined}\n"),
            "t.yaml: access_log.format: must be json (the only access log format), got \"combined\"");
  EXPECT_EQ(single_error("log_format: yaml\n"), "t.yaml: log_format: must be text or json, got yaml");
  EXPECT_EQ(single_error("log_format: [json]\n").substr(0, 21), "t.yaml: log_format: m");
}

TEST(LoggingConfigTest, RefusesUnknownKeysAndWrongTypes) {
  EXPECT_NE(single_error("access_log: {file: /tmp/a.log}\n").find("access_log.file"), std::string::npos);
  EXPECT_NE(single_error("access_log: /tmp/a.log\n").find("access_log: must be a map"), std::string::npos);
  EXPECT_NE(single_error("access_log: {path: [a]}\n").find("access_log.path: must be a string"), std::string::npos);
}

}  // namespace
}  // namespace canaryd::config
