// The parser of response_head.hpp: status line, field lines and body framing of an upstream response.
#include "proxy/http/response_head.hpp"

#include <limits>

#include "proxy/http/http_text.hpp"

namespace canaryd::proxy {
using http_text::iequals;

namespace {

ResponseHead invalid(const char* why) {
  ResponseHead r;
  r.error = why;
  return r;
}

bool parse_digits(std::string_view v, std::uint64_t& out) {
  if (v.empty()) return false;
  std::uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
    n = n * 10 + digit;
  }
  out = n;
  return true;
}

// status-line = HTTP-version SP status-code SP [ reason-phrase ]; the SP before an empty reason is
// often left out, and tolerated. Null when it is valid.
const char* parse_status_line(std::string_view line, ResponseHead& r) {
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[7] < '0' || line[7] > '9' || line[8] != ' ')
    return "invalid status line";
  r.http10 = line[7] == '0';
  for (std::size_t i = 9; i < 12; ++i)
    if (line[i] < '0' || line[i] > '9') return "invalid status code";
  r.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (r.status < 100) return "invalid status code";
  if (line.size() > 12) {
    if (line[12] != ' ') return "invalid status line";
    r.reason = line.substr(13);
    for (unsigned char c : r.reason)
      if ((c < 0x20 && c != '\t') || c == 0x7f) return "control character in reason phrase";
  }
  return nullptr;
}

// Only the last coding of the last field decides (RFC 9112 6.3 rule 4). chunked anywhere else would be
// applied twice once we chunk the body again (RFC 9112 6.1 forbids it), and a parameter on it makes it
// another coding that a next hop may still take for chunked. Null when it is valid.
const char* read_transfer_encoding(std::string_view value, ResponseHead& r) {
  const char* bad = nullptr;
  http_text::any_list_element(value, [&](std::string_view coding) {
    const std::string_view name = http_text::coding_name(coding);
    if (r.chunked) {
      bad = "chunked before another transfer coding";
    } else if (!http_text::is_token(name)) {
      bad = "invalid Transfer-Encoding";
    } else if (iequals(name, "chunked")) {
      if (name.size() != coding.size()) bad = "parameter on chunked";
      r.chunked = true;
    } else if (!iequals(name, "identity")) {  // RFC 2616's "no coding": nothing to pass on
      r.transfer_coded = true;
    }
    return bad != nullptr;
  });
  return bad;
}

// Records a field line whose syntax is checked: its kind, its place and what it says of the framing.
const char* take_field(std::string_view head, std::size_t line_at, std::string_view name, std::string_view raw_value,
                       ResponseHead& r, http_text::ConnectionOptions& connection, bool& has_te) {
  const std::string_view value = http_text::trim_ows(raw_value);
  const FieldKind kind = classify_field(name);
  const std::size_t value_at = value.empty() ? line_at + name.size() + 1
                                             : static_cast<std::size_t>(value.data() - head.data());
  if (!r.fields.add(line_at, name.size(), value_at, value.size(), kind)) return "too many header fields";
  if (kind == FieldKind::ContentLength) {
    std::uint64_t n = 0;
    if (!parse_digits(value, n)) return "invalid Content-Length";
    if (r.content_length && *r.content_length != n) return "conflicting Content-Length";
    r.content_length = n;
  } else if (kind == FieldKind::TransferEncoding) {
    has_te = true;
    return read_transfer_encoding(value, r);
  } else if (kind == FieldKind::Connection) {
    connection.add(value);
  }
  return nullptr;
}

// One field line (without its CRLF), at `field`'s place in `head`. Null when it is valid.
const char* read_field_line(std::string_view head, std::string_view field, ResponseHead& r,
                            http_text::ConnectionOptions& connection, bool& has_te) {
  if (field.front() == ' ' || field.front() == '\t') return "obsolete line folding";
  const std::size_t colon = field.find(':');
  if (colon == std::string_view::npos) return "header line without colon";
  const std::string_view name = field.substr(0, colon);
  if (!http_text::is_token(name)) return "invalid header name";
  // Every byte up to the empty line is in a start line or field line checked like this one, so a
  // bare CR or LF (which would split lines differently for the next hop) cannot pass.
  const std::string_view raw_value = field.substr(colon + 1);
  if (http_text::value_stop(raw_value) != raw_value.size()) return "control character in header value";
  const std::size_t line_at = static_cast<std::size_t>(field.data() - head.data());
  return take_field(head, line_at, name, raw_value, r, connection, has_te);
}

// The common field line in one pass, without searching for its end first: a token, a colon and a value
// of allowed bytes up to CRLF. Returns the offset of that CR, or npos when the line is anything else
// (read_field_line then judges it, with the message for what is wrong).
std::size_t plain_field_line(std::string_view head, std::size_t pos, std::size_t& colon) {
  std::size_t i = pos;
  while (i < head.size() && http_text::kTchar[static_cast<unsigned char>(head[i])]) ++i;
  if (i == pos || i == head.size() || head[i] != ':') return std::string_view::npos;
  colon = i;
  const std::size_t stop = http_text::value_stop(head, i + 1);
  if (stop + 1 >= head.size() || head[stop] != '\r' || head[stop + 1] != '\n') return std::string_view::npos;
  return stop;
}

}  // namespace

ResponseHead parse_response_head(std::string_view head) {
  const std::size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) return invalid("incomplete status line");
  ResponseHead r;
  if (const char* why = parse_status_line(head.substr(0, eol), r)) return invalid(why);
  r.fields_begin = eol + 2;

  http_text::ConnectionOptions connection;
  bool has_te = false;
  std::size_t pos = r.fields_begin;
  for (;;) {
    std::size_t colon = 0;
    if (const std::size_t cr = plain_field_line(head, pos, colon); cr != std::string_view::npos) {
      const std::string_view name = head.substr(pos, colon - pos);
      const std::string_view raw_value = head.substr(colon + 1, cr - colon - 1);
      if (const char* why = take_field(head, pos, name, raw_value, r, connection, has_te)) return invalid(why);
      pos = cr + 2;
      continue;
    }
    const std::size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) return invalid("incomplete header");
    if (end == pos) break;
    const std::string_view field = head.substr(pos, end - pos);
    pos = end + 2;
    if (const char* why = read_field_line(head, field, r, connection, has_te)) return invalid(why);
  }
  if (has_te) {
    r.content_length.reset();
    r.until_close = !r.chunked;
  } else {
    r.until_close = !r.content_length;
  }
  // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing; the connection
  // closes after it.
  r.keep_alive = connection.persistent(r.http10) && !(r.http10 && has_te);
  r.connection_names_fields = connection.names_fields;
  return r;
}

bool switches_to_websocket(std::string_view head, const ResponseHead& response) {
  if (response.status != 101) return false;
  for (const auto& f : response.fields)
    if (f.kind == FieldKind::HopByHop && http_text::iequals(FieldIndex::name(head, f), "upgrade") &&
        http_text::names_websocket(FieldIndex::value(head, f)))
      return true;
  return false;
}

}  // namespace canaryd::proxy
