// The check of a client request head before anything else reads it: request line, field lines and
// body framing, strict where request smuggling is at stake.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "proxy/http/field_index.hpp"

namespace canaryd::proxy {

/// The names of the fields and cookies the routing reads (contract section 8), each empty when unused.
struct RouteFieldNames {
  std::string_view override_header;
  std::string_view override_cookie;
  std::string_view affinity_cookie;
  std::string_view affinity_header;
};

/// What our own check of a raw request header block found. The Beast in Debian's Boost 1.81 predates
/// its request-smuggling fixes, so framing is decided here, before Beast parses anything.
struct RequestCheck {
  int status = 0;                 ///< 0: acceptable; otherwise the 4xx/5xx to answer before closing
  const char* reason = "";        ///< short text for the error body
  bool chunked = false;           ///< Transfer-Encoding: chunked
  std::optional<std::uint64_t> content_length;
  bool http10 = false;
  int minor_version = 1;  ///< of HTTP/1.x; above 1 is handled as 1.1 (RFC 9110 2.5)

  // What the proxy needs of an accepted head, as views into it: it is parsed once, here.
  std::string_view method;
  /// The target to send upstream: the origin form. For an absolute-form target (RFC 9112 3.2.2) the
  /// path and query part of it, and `authority` replaces the Host field.
  std::string_view target;
  bool target_needs_slash = false;  ///< absolute form without a path ("http://a" or "http://a?q")
  std::string_view authority;       ///< non-empty only for an absolute-form target
  std::size_t fields_begin = 0;     ///< offset of the first field line
  bool keep_alive = true;           ///< RFC 9112 9.3, from the version and Connection
  /// A WebSocket opening handshake (RFC 6455 4.1) to pass on: an HTTP/1.1 GET without a body whose
  /// Upgrade field names `websocket` and whose Connection field has the `upgrade` option. Only then do
  /// Upgrade and `Connection: upgrade` go upstream; otherwise Upgrade is dropped as hop-by-hop (an
  /// HTTP/1.0 request's Upgrade must be ignored, RFC 9110 7.8; a body would leave the tunnel's first
  /// byte ambiguous).
  bool websocket = false;
  bool connection_names_fields = false;
  bool has_host = false;
  bool has_expect = false;
  std::string_view expect;          ///< the first Expect value
  bool has_override = false;
  std::string_view override_value;  ///< the first value of the routing override field
  // The routing's cookies and affinity header (RouteFieldNames), views into the head. Of several Cookie
  // fields, the first that holds the cookie wins; of several affinity header fields, the first.
  std::optional<std::string_view> override_cookie;
  std::optional<std::string_view> affinity_key;
  FieldIndex fields;                ///< every field line, classified
};

/// Checks a complete header block (request line to the empty line, CRLF CRLF included):
/// request-line shape and version (505 for versions other than 1.0/1.1), CRLF line endings only,
/// field names as tokens with no whitespace before the colon, no obs-fold, no CR/LF/NUL or other
/// controls in values, Host present exactly once on HTTP/1.1, and the body framing: Content-Length as
/// 1*DIGIT (duplicates must agree), Transfer-Encoding exactly `chunked` and never with Content-Length.
/// `override_header`: the name of the routing override field, whose first value is reported.
/// `names`: the routing's fields and cookies (RouteFieldNames), whose values are reported.
RequestCheck check_request_head(std::string_view head, const RouteFieldNames& names);
inline RequestCheck check_request_head(std::string_view head, std::string_view override_header = {}) {
  return check_request_head(head, RouteFieldNames{override_header, {}, {}, {}});
}

/// Where the header block ends (index just past CRLF CRLF), or npos. `from` lets a caller resume.
std::size_t find_head_end(std::string_view data, std::size_t from = 0);

/// Whether an incomplete head already holds a bare LF, or a CR followed by something other than LF:
/// it can never end in CRLF CRLF, so it is malformed now rather than at its timeout. A CR that is the
/// last byte is undecided. `from`: where the previous call stopped (data before it was checked).
bool has_bare_line_break(std::string_view data, std::size_t from = 0);

}  // namespace canaryd::proxy
