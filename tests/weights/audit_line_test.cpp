// The audit line's format and escaping, and the per-source rate limit on a fake clock.
#include "weights/audit_line.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace canaryd::weights {
namespace {

using namespace std::chrono_literals;

/// The line read back as a log reader would: `key=value` pairs after "audit", a quoted value ending at
/// the first unescaped quote. Returns the keys in order.
std::vector<std::string> keys_of(const std::string& line) {
  std::vector<std::string> keys;
  std::size_t i = line.find(' ');
  while (i != std::string::npos && i < line.size()) {
    const std::size_t eq = line.find('=', i + 1);
    keys.push_back(line.substr(i + 1, eq - i - 1));
    std::size_t end = eq + 1;
    if (line[end] == '"') {
      for (++end; line[end] != '"'; ++end)
        if (line[end] == '\\') ++end;
      ++end;
    } else {
      end = line.find(' ', end);
    }
    i = end;
  }
  return keys;
}

TEST(AuditLine, NamesEveryField) {
  AuditRecord r{"127.0.0.1", "PUT /api/weight", 200, 3, 4, "ramp to 10", "", 0};
  EXPECT_EQ(format_audit_line(r),
            "audit remote=127.0.0.1 call=\"PUT /api/weight\" status=200 revision=3->4 cause=\"ramp to 10\"");
}

TEST(AuditLine, AddsTheErrorAndTheSuppressedCount) {
  AuditRecord r{"::1", "GET /api/status", 401, 7, 7, "", "missing or invalid bearer token", 12};
  EXPECT_EQ(format_audit_line(r),
            "audit remote=::1 call=\"GET /api/status\" status=401 revision=7->7 cause=\"\" "
            "error=\"missing or invalid bearer token\" suppressed=12");
}

TEST(AuditLine, ACraftedValueCannotForgeALineOrAField) {
  AuditRecord r{"10.0.0.1", "PUT /api/weight", 400, 1, 1, "x\" status=200 cause=\"y",
                "bad\n2026-12-05T10:00:00Z canaryd: audit remote=1.2.3.4\r\x7f\\", 0};
  const std::string line = format_audit_line(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_NE(line.find("cause=\"x\\\" status=200 cause=\\\"y\""), std::string::npos) << line;
  EXPECT_NE(line.find("error=\"bad\\x0a2026-12-05T10:00:00Z canaryd: audit remote=1.2.3.4\\x0d\\x7f\\\\\""),
            std::string::npos)
      << line;
  // Read back, the line has exactly its own fields, the forged ones staying inside the quotes.
  EXPECT_EQ(keys_of(line), (std::vector<std::string>{"remote", "call", "status", "revision", "cause", "error"})) << line;
}

TEST(AuditLine, KeepsUtf8AsItIs) {
  EXPECT_EQ(quote_audit_value("d\xc3\xa9ploiement"), "\"d\xc3\xa9ploiement\"");
}

TEST(AuditRateLimiter, OneLinePerSecondPerSource) {
  AuditRateLimiter limiter;
  const auto t0 = AuditRateLimiter::Clock::time_point{} + 100s;
  EXPECT_EQ(limiter.admit("10.0.0.1", t0), 0u);
  EXPECT_EQ(limiter.admit("10.0.0.1", t0 + 10ms), std::nullopt);
  EXPECT_EQ(limiter.admit("10.0.0.1", t0 + 999ms), std::nullopt);
  // Another source has its own second.
  EXPECT_EQ(limiter.admit("10.0.0.2", t0 + 500ms), 0u);
  // A second after the last line, the next line says how many were left out.
  EXPECT_EQ(limiter.admit("10.0.0.1", t0 + 1s), 2u);
  EXPECT_EQ(limiter.admit("10.0.0.1", t0 + 1500ms), std::nullopt);
  EXPECT_EQ(limiter.admit("10.0.0.1", t0 + 2s), 1u);
  EXPECT_EQ(limiter.admit("10.0.0.1", t0 + 5s), 0u);
}

TEST(AuditRateLimiter, StaysBoundedAndForgetsStaleSources) {
  AuditRateLimiter limiter(1s, 2);
  const auto t0 = AuditRateLimiter::Clock::time_point{} + 100s;
  EXPECT_EQ(limiter.admit("a", t0), 0u);
  EXPECT_EQ(limiter.admit("b", t0), 0u);
  // Full of sources seen within the second: a new one is dropped.
  EXPECT_EQ(limiter.admit("c", t0 + 100ms), std::nullopt);
  EXPECT_EQ(limiter.tracked(), 2u);
  // Once they are stale they make room.
  EXPECT_EQ(limiter.admit("c", t0 + 1s), 0u);
  EXPECT_EQ(limiter.tracked(), 1u);
}

}  // namespace
}  // namespace canaryd::weights
