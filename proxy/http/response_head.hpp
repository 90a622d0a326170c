// The parser of an upstream response head, in place: status, framing, keep-alive and a field index.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "proxy/http/field_index.hpp"

namespace canaryd::proxy {

/// An upstream's response header block, parsed without copying: views into the block.
struct ResponseHead {
  const char* error = nullptr;  ///< non-null: not a response we can relay (the reason)
  int status = 0;
  bool http10 = false;
  std::string_view reason;
  std::size_t fields_begin = 0;  ///< offset of the first field line
  /// Body framing (RFC 9112 6.3): chunked when the last transfer coding is chunked; otherwise the
  /// Content-Length; with neither, the body ends when the connection does (`until_close`). A
  /// Transfer-Encoding overrides a Content-Length, which is then not forwarded.
  bool chunked = false;
  /// Transfer codings other than chunked (gzip, say; identity is none) were applied: they stay with
  /// the body, which we relay as it is, and are named again where we send it (write_client_response).
  bool transfer_coded = false;
  bool until_close = false;
  std::optional<std::uint64_t> content_length;
  bool keep_alive = false;  ///< Connection and version allow reuse (a body until close does not)
  bool connection_names_fields = false;
  FieldIndex fields;  ///< every field line, classified
};

/// Parses a complete response header block (status line to the empty line, CRLF CRLF included). Strict
/// where framing or field boundaries are at stake: CRLF line ends only, HTTP/1.x, a three-digit status,
/// field names as tokens, no obs-fold, no controls in values, Content-Length as digits (duplicates must
/// agree), transfer codings as tokens, chunked only as the last and without parameters. The body
/// framing set here ignores the request method and the status; the caller knows when there is no body
/// (HEAD, 1xx, 204, 304).
ResponseHead parse_response_head(std::string_view head);

/// Whether a parsed response is a 101 that switches to WebSocket: an Upgrade field names `websocket`
/// (RFC 9110 15.2.2: a 101 says in Upgrade what it switches to). `head`: the block `response` was parsed from.
bool switches_to_websocket(std::string_view head, const ResponseHead& response);

}  // namespace canaryd::proxy
