// The audit line's text and the per-source rate limit of failed authentications (see audit_line.hpp).
#include "weights/audit_line.hpp"

#include <iterator>

namespace canaryd::weights {

std::string quote_audit_value(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

std::string format_audit_line(const AuditRecord& r) {
  // The address is ours (the socket's peer, printed by Asio), never caller text; it is quoted anyway
  // when empty so that the field stays visible.
  std::string line = "audit remote=";
  line += r.remote.empty() ? "\"\"" : r.remote;
  line += " call=" + quote_audit_value(r.call);
  line += " status=" + std::to_string(r.status);
  line += " revision=" + std::to_string(r.revision_before) + "->" + std::to_string(r.revision_after);
  line += " cause=" + quote_audit_value(r.cause);
  if (!r.error.empty()) line += " error=" + quote_audit_value(r.error);
  if (r.suppressed > 0) line += " suppressed=" + std::to_string(r.suppressed);
  return line;
}

void AuditRateLimiter::forget_stale(Clock::time_point now) {
  for (auto it = keys_.begin(); it != keys_.end();) {
    it = now - it->second.last >= interval_ ? keys_.erase(it) : std::next(it);
  }
}

std::optional<std::uint64_t> AuditRateLimiter::admit(const std::string& key, Clock::time_point now) {
  if (auto it = keys_.find(key); it != keys_.end()) {
    Entry& e = it->second;
    if (now - e.last < interval_) {
      ++e.suppressed;
      return std::nullopt;
    }
    const std::uint64_t suppressed = e.suppressed;
    e = Entry{now, 0};
    return suppressed;
  }
  if (keys_.size() >= max_keys_) forget_stale(now);
  if (keys_.size() >= max_keys_) return std::nullopt;
  keys_.emplace(key, Entry{now, 0});
  return 0;
}

}  // namespace canaryd::weights
