// The state's timestamps as RFC 3339 UTC text, printed and parsed strictly.
#include "weights/routing_state.hpp"

#include <ctime>

namespace canaryd::weights {

std::string format_time(Clock::time_point t) {
  // Floor, not truncate: a time just before the epoch must not print as the epoch's second.
  const auto seconds = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
  const std::time_t tt = static_cast<std::time_t>(seconds);
  std::tm tm{};
  // gmtime_r, not gmtime: the control server and the state store may format concurrently.
  if (gmtime_r(&tt, &tm) == nullptr) return "1970-01-01T00:00:00Z";
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

namespace {

/// Reads `width` ASCII digits at `pos`; false when any is not a digit.
bool read_digits(const std::string& text, std::size_t pos, std::size_t width, int& out) {
  out = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

}  // namespace

std::optional<Clock::time_point> parse_time(const std::string& text) {
  // Exactly the shape format_time prints: the state file is ours, so anything else means corruption.
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != 'Z') {
    return std::nullopt;
  }
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, 0, 4, year) || !read_digits(text, 5, 2, month) || !read_digits(text, 8, 2, day) ||
      !read_digits(text, 11, 2, hour) || !read_digits(text, 14, 2, minute) || !read_digits(text, 17, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t tt = timegm(&tm);  // thread-safe, unlike mktime with a TZ dance
  const auto result = Clock::time_point{std::chrono::seconds{tt}};
  // timegm normalises 2026-02-31 into March; printing it back catches such impossible dates.
  if (format_time(result) != text) return std::nullopt;
  return result;
}

}  // namespace canaryd::weights
