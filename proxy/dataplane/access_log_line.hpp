// One access log line (contract section 10) formatted into a fixed span of memory: the JSON object of a
// finished request, with client-supplied text escaped. Pure and allocation-free, for the request path.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>

namespace canaryd::proxy {

/// What one finished request contributes to the access log. The views stay valid until the line is
/// formatted (they point into the request's own memory and the snapshot). Only method and target are
/// the client's text, and escaped; the others are canaryd's own (addresses, names) and written as they are.
struct AccessRecord {
  std::chrono::system_clock::time_point time;  ///< when the request finished
  std::string_view client;    ///< the TCP peer's address
  std::string_view method;    ///< as the client sent it (escaped when written)
  std::string_view target;    ///< as the client sent it (escaped when written)
  int status = 0;
  std::string_view set;       ///< stable | canary | none
  std::string_view reason;    ///< X-Canary-Reason's value; empty: null (no set served)
  std::string_view endpoint;  ///< the endpoint that answered; empty: null (canaryd answered itself)
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::chrono::microseconds duration{0};
};

/// The target is cut after this many bytes of its escaped form (and ends in "..."), so that every line
/// fits one access log buffer whatever the head size limit.
inline constexpr std::size_t kMaxEscapedTarget = 16 * 1024;
/// Every line fits in this many bytes.
inline constexpr std::size_t kMaxAccessLine = kMaxEscapedTarget + 1024;

/// The UTC second a worker last formatted, as "YYYY-MM-DDTHH:MM:SS": gmtime once a second, not per line.
class SecondCache {
 public:
  /// The text of `second` (seconds since the epoch).
  std::string_view text(std::int64_t second);

 private:
  std::int64_t second_ = -1;
  char text_[32] = {};
  std::size_t size_ = 0;
};

/// Writes `record` as one JSON line (with its '\n') at the start of `out`. Returns its length, or 0 when
/// it does not fit (nothing meaningful is left in `out` then).
std::size_t format_access_line(const AccessRecord& record, SecondCache& seconds, std::span<char> out);

/// Appends `text` as the inside of a JSON string to `out` from `at`, at most `limit` bytes: '"', '\\' and
/// control bytes (and DEL) escaped, valid UTF-8 kept, each byte of invalid UTF-8 as U+FFFD. Returns the
/// new position, or out.size() + 1 when it did not fit. A text whose escaped form exceeds `limit` is cut
/// at a character boundary and ends in "..." (`limit` >= 3).
std::size_t append_json_text(std::string_view text, std::span<char> out, std::size_t at, std::size_t limit);

}  // namespace canaryd::proxy
