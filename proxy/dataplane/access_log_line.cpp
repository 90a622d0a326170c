// Formatting one access log line (see access_log_line.hpp).
#include "proxy/dataplane/access_log_line.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>

#include "weights/utf8.hpp"

namespace canaryd::proxy {
namespace {

// A cursor over `out` that remembers whether everything fit.
struct Cursor {
  std::span<char> out;
  std::size_t at = 0;
  bool fits = true;

  void put(std::string_view s) {
    if (!fits || s.size() > out.size() - at) {
      fits = false;
      return;
    }
    std::memcpy(out.data() + at, s.data(), s.size());
    at += s.size();
  }
  void put(std::uint64_t v) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, v).ptr;
    put(std::string_view(digits, static_cast<std::size_t>(end - digits)));
  }
  void text(std::string_view s, std::size_t limit) {
    if (!fits) return;
    at = append_json_text(s, out, at, limit);
    if (at > out.size()) fits = false;
  }
  // Text canaryd made itself (an address, a set's reason): nothing to escape.
  void optional_plain(std::string_view s) {
    if (s.empty()) return put("null");
    put("\"");
    put(s);
    put("\"");
  }
};

// The escaped form of the character at the start of `s`: '"', '\\', and control characters (C0, DEL,
// C1) escaped, other valid UTF-8 as it is, an invalid byte as U+FFFD. Sets `consumed` to its bytes.
std::string_view escaped(std::string_view s, std::size_t& consumed, char (&buf)[8]) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto first = static_cast<unsigned char>(s[0]);
  const weights::Utf8Sequence seq = first < 0x80 ? weights::Utf8Sequence{1, first} : weights::decode_utf8(s, 0);
  consumed = seq.length == 0 ? 1 : seq.length;
  if (seq.length == 0) return "\\ufffd";
  switch (seq.code_point) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default: break;
  }
  if (!weights::is_control_character(seq.code_point)) return s.substr(0, seq.length);
  std::memcpy(buf, "\\u00", 4);
  buf[4] = kHex[(seq.code_point >> 4) & 0xf];
  buf[5] = kHex[seq.code_point & 0xf];
  return {buf, 6};
}

bool plain_ascii(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

}  // namespace

std::string_view SecondCache::text(std::int64_t second) {
  if (second != second_) {
    second_ = second;
    const std::time_t t = static_cast<std::time_t>(second);
    std::tm tm{};
    gmtime_r(&t, &tm);
    size_ = std::strftime(text_, sizeof text_, "%Y-%m-%dT%H:%M:%S", &tm);
  }
  return {text_, size_};
}

std::size_t append_json_text(std::string_view text, std::span<char> out, std::size_t at, std::size_t limit) {
  // Whether the escaped text exceeds `limit` (counted only when it could: an escape is at most 6 bytes).
  bool cut = false;
  if (text.size() > limit / 6) {
    std::size_t total = 0;
    char buf[8];
    for (std::string_view rest = text; !rest.empty() && !cut;) {
      std::size_t consumed = 0;
      total += escaped(rest, consumed, buf).size();
      rest.remove_prefix(consumed);
      cut = total > limit;
    }
  }
  const std::size_t budget = cut ? limit - 3 : limit;
  std::size_t used = 0;
  char buf[8];
  while (!text.empty()) {
    // A run of printable ASCII needs no escaping: copied at once.
    std::size_t run = 0;
    const std::size_t most = std::min(text.size(), budget - used);
    while (run < most && plain_ascii(text[run])) ++run;
    std::string_view piece = text.substr(0, run);
    std::size_t consumed = run;
    if (run == 0) {
      piece = escaped(text, consumed, buf);
      if (used + piece.size() > budget) break;
    }
    if (piece.empty()) break;  // the budget is spent
    if (piece.size() > out.size() - at) return out.size() + 1;
    std::memcpy(out.data() + at, piece.data(), piece.size());
    at += piece.size();
    used += piece.size();
    text.remove_prefix(consumed);
  }
  if (!cut) return at;
  if (3 > out.size() - at) return out.size() + 1;
  std::memcpy(out.data() + at, "...", 3);
  return at + 3;
}

std::size_t format_access_line(const AccessRecord& r, SecondCache& seconds, std::span<char> out) {
  using namespace std::chrono;
  Cursor c{out};
  const auto ms = duration_cast<milliseconds>(r.time.time_since_epoch()).count();
  c.put("{\"time\":\"");
  c.put(seconds.text(ms / 1000));
  const auto milli = static_cast<unsigned>(ms % 1000);
  const char frac[6] = {'.', static_cast<char>('0' + milli / 100), static_cast<char>('0' + milli / 10 % 10),
                        static_cast<char>('0' + milli % 10), 'Z', '"'};
  c.put(std::string_view(frac, sizeof frac));
  c.put(",\"client\":");
  c.optional_plain(r.client);
  c.put(",\"method\":\"");
  c.text(r.method, 256);
  c.put("\",\"target\":\"");
  c.text(r.target, kMaxEscapedTarget);
  c.put("\",\"status\":");
  c.put(static_cast<std::uint64_t>(r.status));
  c.put(",\"set\":\"");
  c.put(r.set);
  c.put("\",\"reason\":");
  c.optional_plain(r.reason);
  c.put(",\"endpoint\":");
  c.optional_plain(r.endpoint);
  c.put(",\"bytes_in\":");
  c.put(r.bytes_in);
  c.put(",\"bytes_out\":");
  c.put(r.bytes_out);
  c.put(",\"duration_ms\":");
  const auto us = static_cast<std::uint64_t>(r.duration.count() < 0 ? 0 : r.duration.count());
  c.put(us / 1000);
  const unsigned rest = static_cast<unsigned>(us % 1000);
  const char dec[4] = {'.', static_cast<char>('0' + rest / 100), static_cast<char>('0' + rest / 10 % 10),
                       static_cast<char>('0' + rest % 10)};
  c.put(std::string_view(dec, sizeof dec));
  c.put("}\n");
  return c.fits ? c.at : 0;
}

}  // namespace canaryd::proxy
