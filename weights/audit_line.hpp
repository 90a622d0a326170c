// The audit log of the control API (contract section 7): the text of one audit line, and the rate
// limit that keeps a burst of failed authentications to one line per second per source address.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace canaryd::weights {

/// One control call that changed, or failed to change, the state.
struct AuditRecord {
  std::string remote;            ///< the caller's address, e.g. "127.0.0.1" or "::1"
  std::string call;              ///< method and path, e.g. "PUT /api/weight"
  int status = 0;                ///< the answer's HTTP status
  std::uint64_t revision_before = 0;
  std::uint64_t revision_after = 0;  ///< equal to revision_before when nothing changed
  std::string cause;             ///< the change's cause, "" when the call never got that far
  std::string error;             ///< the refusal's message, "" on success
  std::uint64_t suppressed = 0;  ///< like lines left out by the rate limit since the last one
};

/// The message of one audit line (log_line adds the time):
/// `audit remote=ADDR call="PUT /api/weight" status=200 revision=3->4 cause="..."`, then
/// ` error="..."` when there is one and ` suppressed=N` when N > 0. Quoted values escape `"` and `\`
/// and write any byte below 0x20 or 0x7f as \xNN, so a crafted value cannot end the line or forge a
/// field (causes are already refused with control characters; calls and errors carry caller text).
std::string format_audit_line(const AuditRecord& record);

/// `text` in double quotes with the escapes of format_audit_line.
std::string quote_audit_value(std::string_view text);

/// At most one line per interval per key (the source address): a pure table fed the time, so that a
/// burst of failed authentications cannot flood the log. Bounded: a key whose last line is older than
/// the interval is forgotten when the table is full; while the table is full of live keys, a new key's
/// line is dropped (and not counted).
class AuditRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit AuditRateLimiter(Clock::duration interval = std::chrono::seconds(1), std::size_t max_keys = 4096)
      : interval_(interval), max_keys_(max_keys) {}

  /// A line for `key` at `now`: the number of lines suppressed for it since its last line (write this
  /// one), or nullopt (suppress it; it is counted).
  std::optional<std::uint64_t> admit(const std::string& key, Clock::time_point now);

  std::size_t tracked() const { return keys_.size(); }

 private:
  struct Entry {
    Clock::time_point last;
    std::uint64_t suppressed = 0;
  };
  void forget_stale(Clock::time_point now);

  Clock::duration interval_;
  std::size_t max_keys_;
  std::unordered_map<std::string, Entry> keys_;
};

}  // namespace canaryd::weights
