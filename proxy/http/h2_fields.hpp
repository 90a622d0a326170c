// The header conversions of the HTTP/2 front end, without I/O: an HTTP/2 request's field list written as
// the HTTP/1.1 request head the rest of the request path checks and rewrites (check_request_head,
// write_upstream_request), and an HTTP/1.1 response head (as write_client_response wrote it for the
// client) turned into HTTP/2 response fields.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace canaryd::proxy {

/// Builds the HTTP/1.1 form of one HTTP/2 request from its decoded fields, in the order HPACK gives
/// them (RFC 9113 8.3: pseudo-fields first). ":authority" becomes Host (a Host field beside it is
/// dropped), crumbled `cookie` fields are joined with "; " (RFC 9113 8.2.3), and a connection-specific
/// field makes the request malformed (RFC 9113 8.2.2; only `te: trailers` is allowed, and dropped).
/// The result is checked afterwards like any HTTP/1.1 head, so values reach the upstream only through
/// that check.
class H2RequestHead {
 public:
  /// Starts a new request; the strings keep their capacity.
  void reset();
  /// One decoded field. False once the request is malformed (error() says why); later fields are
  /// then ignored. Names arrive lower-case (nghttp2 checks that).
  bool add(std::string_view name, std::string_view value);
  /// The complete head, CRLF CRLF included. `unknown_length_body`: the request has a body and no
  /// content-length, so that it goes upstream chunked (a Transfer-Encoding: chunked field is added).
  /// Empty when the request is malformed.
  std::string_view finish(bool unknown_length_body);

  bool malformed() const { return error_ != nullptr; }
  const char* error() const { return error_; }
  const std::string& method() const { return method_; }
  bool has_content_length() const { return has_content_length_; }
  /// The decoded size of the field list as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113 6.5.2:
  /// name and value lengths plus 32 per field).
  std::size_t list_size() const { return list_size_; }

 private:
  bool fail(const char* why);
  void start_fields();

  std::string head_;
  std::string cookie_;
  std::string method_, scheme_, authority_, path_;
  const char* error_ = nullptr;
  std::size_t list_size_ = 0;
  bool fields_started_ = false;
  bool has_content_length_ = false;
};

/// One HTTP/2 response field: views into the converted head (names lower-cased in place).
struct H2Field {
  std::string_view name;
  std::string_view value;
};

/// Converts an HTTP/1.1 response head for the client (status line, fields, CRLF CRLF) to HTTP/2 fields,
/// in place: names are lower-cased inside `head`, and `out` gets views into it. The status is not a
/// field here (the caller sends ":status"). Connection-specific fields (Connection, Keep-Alive,
/// Proxy-Connection, Transfer-Encoding, Upgrade, TE) are not carried: HTTP/2 has none (RFC 9113 8.2.2).
void h2_response_fields(std::string& head, std::vector<H2Field>& out);

/// Whether `name` (lower-case) is connection-specific in the sense of RFC 9113 8.2.2.
bool h2_connection_specific(std::string_view name);

}  // namespace canaryd::proxy
