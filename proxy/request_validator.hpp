#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace canaryd::proxy {

/// What our own check of a raw request header block found. The Beast in Debian's Boost 1.81 predates
/// its request-smuggling fixes, so framing is decided here, before Beast parses anything.
struct RequestCheck {
  int status = 0;                 ///< 0: acceptable; otherwise the 4xx/5xx to answer before closing
  const char* reason = "";        ///< short text for the error body
  bool chunked = false;           ///< Transfer-Encoding: chunked
  std::optional<std::uint64_t> content_length;
  bool http10 = false;
  int minor_version = 1;  ///< of HTTP/1.x; above 1 is handled as 1.1 (RFC 9110 2.5)
};

/// Checks a complete header block (request line to the empty line, CRLF CRLF included):
/// request-line shape and version (505 for versions other than 1.0/1.1), CRLF line endings only,
/// field names as tokens with no whitespace before the colon, no obs-fold, no CR/LF/NUL or other
/// controls in values, Host present exactly once on HTTP/1.1, and the body framing: Content-Length as
/// 1*DIGIT (duplicates must agree), Transfer-Encoding exactly `chunked` and never with Content-Length.
RequestCheck check_request_head(std::string_view head);

/// Where the header block ends (index just past CRLF CRLF), or npos. `from` lets a caller resume.
std::size_t find_head_end(std::string_view data, std::size_t from = 0);

}  // namespace canaryd::proxy
