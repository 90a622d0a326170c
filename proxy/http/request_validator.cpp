// The request head check of request_validator.hpp: request line, field lines and body framing, in place.
#include "proxy/http/request_validator.hpp"

#include "proxy/http/cookies.hpp"

#include "proxy/http/http_text.hpp"

#include <array>
#include <cstring>
#include <limits>

namespace canaryd::proxy {
namespace {

using http_text::iequals;
using http_text::is_token;
using http_text::trim_ows;

// Beast 1.81 cannot hold a field value of 64 KiB or more (it throws), and we join X-Forwarded-For and
// Via into one field each, so lines and those joined lists stay below this.
constexpr std::size_t kMaxFieldLine = 63 * 1024;
// Like HAProxy's tune.http.maxhdr (101) and nginx's 8 KiB large_client_header_buffers for the target.
constexpr int kMaxFields = 100;
constexpr std::size_t kMaxTargetBytes = 8192;

RequestCheck reject(int status, const char* reason) {
  RequestCheck r;
  r.status = status;
  r.reason = reason;
  return r;
}

// Request-target: visible ASCII only (no spaces, controls or DEL); origin, absolute, authority or '*'.
bool valid_target(std::string_view t) {
  if (t.empty()) return false;
  for (unsigned char c : t)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

// unreserved, pct-encoded ('%') and sub-delims characters (RFC 3986 3.2.2 reg-name).
constexpr std::array<bool, 256> kRegNameChar = http_text::alnum_and("-._~%!$&'()*+,;=");

// RFC 9112 3.2 / RFC 3986 3.2.2: uri-host [ ":" port ]; uri-host is an IP-literal in brackets or a
// reg-name / IPv4 address (unreserved, pct-encoded and sub-delims characters). Empty is allowed.
bool valid_host_value(std::string_view v) {
  std::string_view port;
  if (!v.empty() && v.front() == '[') {
    std::size_t close = v.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : v.substr(1, close - 1)) {
      bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
      if (!ok) return false;
    }
    std::string_view rest = v.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
    }
  } else {
    std::size_t colon = v.rfind(':');
    std::string_view host = v.substr(0, colon);
    if (colon != std::string_view::npos) port = v.substr(colon + 1);
    for (char c : host)
      if (!kRegNameChar[static_cast<unsigned char>(c)]) return false;
  }
  for (char c : port)
    if (c < '0' || c > '9') return false;
  return true;
}

// RFC 9112 3.2.2: for an absolute-form target the Host comes from the target, not from the received
// Host field; upstreams get the origin form, as nginx sends them. `rest`: the target after "scheme://".
// False when the authority is empty or carries userinfo.
bool split_absolute_form(RequestCheck& r, std::string_view rest) {
  const std::size_t path_start = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, path_start);
  // The authority becomes the Host field, so it must be a valid one (no userinfo either).
  if (authority.empty() || !valid_host_value(authority)) return false;
  r.authority = authority;
  r.target = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  // RFC 9112 3.2.4: OPTIONS for the server itself is sent as "*".
  if (r.target.empty() && r.method == "OPTIONS") {
    r.target = "*";
    return true;
  }
  r.target_needs_slash = r.target.empty() || r.target.front() == '?';
  return true;
}

// RFC 9112 3.2: the four forms of request-target, each allowed only where it means something: the
// origin form ("/p?q") and the absolute form ("http://a/p", http and https only: we proxy nothing else)
// for every method, the authority form ("a:443") only for CONNECT, the asterisk form only for OPTIONS.
// Returns why the target is refused, or null.
const char* check_target_form(RequestCheck& r) {
  const std::string_view t = r.target;
  if (t.front() == '/') return nullptr;
  if (t == "*") return r.method == "OPTIONS" ? nullptr : "asterisk-form target on a method other than OPTIONS";
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (t.size() >= scheme.size() && iequals(t.substr(0, scheme.size()), scheme))
      return split_absolute_form(r, t.substr(scheme.size())) ? nullptr : "invalid absolute-form target";
  }
  if (r.method == "CONNECT") {
    // authority-form = uri-host ":" port, both present.
    const std::size_t colon = t.rfind(':');
    const std::size_t bracket = t.rfind(']');
    const bool ok = colon != std::string_view::npos && colon > 0 && colon + 1 < t.size() &&
                    (bracket == std::string_view::npos || colon > bracket) && valid_host_value(t);
    return ok ? nullptr : "invalid authority-form target";
  }
  // A scheme other than http(s), an authority or a relative reference ("../x") without CONNECT.
  const std::size_t colon = t.find(':');
  if (colon != std::string_view::npos && colon > 0 && http_text::is_token(t.substr(0, colon)) && t.find("://") == colon)
    return "absolute-form target with a scheme other than http or https";
  return "request target form not allowed for the method";
}

}  // namespace

std::size_t find_head_end(std::string_view data, std::size_t from) {
  std::size_t start = from >= 3 ? from - 3 : 0;
  std::size_t pos = data.find("\r\n\r\n", start);
  return pos == std::string_view::npos ? pos : pos + 4;
}

bool has_bare_line_break(std::string_view data, std::size_t from) {
  for (std::size_t i = from > 0 ? from - 1 : 0; i < data.size(); ++i) {
    if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r')) return true;
    if (data[i] == '\r' && i + 1 < data.size() && data[i + 1] != '\n') return true;
  }
  return false;
}

namespace {

// Why a head is refused (status 0: it is not).
struct Problem {
  int status = 0;
  const char* reason = "";
  explicit operator bool() const { return status != 0; }
};

// Every line must end in CRLF: a bare CR or a bare LF anywhere is a framing ambiguity. (The checks of
// each line would refuse them too; these give the precise reason.) memchr keeps it cheap.
const char* line_break_problem(std::string_view head) {
  const char* const begin = head.data();
  const char* const end = begin + head.size();
  for (const char* p = begin; (p = static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(end - p)))); ++p)
    if (p + 1 == end || p[1] != '\n') return "bare CR in header";
  for (const char* p = begin; (p = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)))); ++p)
    if (p == begin || p[-1] != '\r') return "bare LF in header";
  if (std::memchr(begin, '\0', head.size())) return "NUL in header";
  return nullptr;
}

// request-line = method SP request-target SP HTTP-version, single spaces.
Problem check_request_line(std::string_view line, RequestCheck& result) {
  std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return {400, "malformed request line"};
  std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return {400, "malformed request line"};
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return {400, "invalid method"};
  if (!valid_target(target)) return {400, "invalid request target"};
  if (target.size() > kMaxTargetBytes) return {414, "request target too long"};
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[5] < '0' || version[5] > '9' ||
      version[6] != '.' || version[7] < '0' || version[7] > '9')
    return {400, "invalid HTTP version"};
  // RFC 9110 2.5: a higher minor version of HTTP/1 is handled as the highest we support (1.1); only
  // another major version is unsupported.
  if (version[5] != '1') return {505, "HTTP version not supported"};
  result.minor_version = version[7] - '0';
  result.http10 = result.minor_version == 0;
  result.method = method;
  result.target = target;
  if (const char* why = check_target_form(result)) return {400, why};
  return {};
}

// What the field lines add up to, checked as they come and once all are read.
struct FieldTally {
  int host_count = 0;
  int te_count = 0;
  std::size_t forwarded_bytes = 0;  // X-Forwarded-For values, joined later with ", " plus our entry
  std::size_t via_bytes = 0;
  int field_count = 0;
  bool bad_te = false;
  bool upgrade_websocket = false;  // an Upgrade field names websocket
  http_text::ConnectionOptions connection;
};

Problem read_content_length(std::string_view value, RequestCheck& result) {
  if (value.empty()) return {400, "invalid Content-Length"};
  std::uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return {400, "invalid Content-Length"};
    std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return {400, "Content-Length overflow"};
    n = n * 10 + digit;
  }
  if (result.content_length && *result.content_length != n) return {400, "conflicting Content-Length"};
  result.content_length = n;
  return {};
}

// The checks and the record of a field the proxy itself reads.
Problem check_field_value(FieldKind kind, std::string_view value, RequestCheck& result, FieldTally& tally) {
  if (kind == FieldKind::Host) {
    ++tally.host_count;
    if (!valid_host_value(value)) return {400, "invalid Host"};
  } else if (kind == FieldKind::ContentLength) {
    return read_content_length(value, result);
  } else if (kind == FieldKind::TransferEncoding) {
    ++tally.te_count;
    if (!iequals(value, "chunked")) tally.bad_te = true;
  } else if (kind == FieldKind::XForwardedFor) {
    tally.forwarded_bytes += value.size() + 2;
    if (tally.forwarded_bytes + 64 > kMaxFieldLine) return {431, "X-Forwarded-For too large"};
  } else if (kind == FieldKind::Via) {
    tally.via_bytes += value.size() + 2;
    if (tally.via_bytes + 64 > kMaxFieldLine) return {431, "Via too large"};
  } else if (kind == FieldKind::Connection) {
    tally.connection.add(value);
  } else if (kind == FieldKind::Expect) {
    if (!result.has_expect) result.expect = value;
    result.has_expect = true;
  }
  return {};
}

// One field line (without its CRLF), at `field`'s place in `head`.
// The routing's view of a field line: the override field, its cookie, the affinity key.
void note_route_field(std::string_view name, std::string_view value, const RouteFieldNames& names,
                      RequestCheck& result) {
  if (!names.override_header.empty() && !result.has_override && iequals(name, names.override_header)) {
    result.has_override = true;
    result.override_value = value;
  }
  if (!names.affinity_header.empty() && !result.affinity_key && iequals(name, names.affinity_header))
    result.affinity_key = value;
  if ((names.override_cookie.empty() && names.affinity_cookie.empty()) || !iequals(name, "cookie")) return;
  if (!names.override_cookie.empty() && !result.override_cookie)
    result.override_cookie = find_cookie(value, names.override_cookie);
  if (!names.affinity_cookie.empty() && !result.affinity_key)
    result.affinity_key = find_cookie(value, names.affinity_cookie);
}

Problem check_field_line(std::string_view head, std::string_view field, const RouteFieldNames& names,
                         RequestCheck& result, FieldTally& tally) {
  if (field.size() > kMaxFieldLine) return {431, "header field too large"};
  if (++tally.field_count > kMaxFields) return {431, "too many header fields"};
  if (field.front() == ' ' || field.front() == '\t') return {400, "obsolete line folding"};
  std::size_t colon = field.find(':');
  if (colon == std::string_view::npos) return {400, "header line without colon"};
  std::string_view name = field.substr(0, colon);
  if (!is_token(name)) return {400, "invalid header name"};
  std::string_view raw_value = field.substr(colon + 1);
  if (http_text::value_stop(raw_value) != raw_value.size()) return {400, "control character in header value"};
  std::string_view value = trim_ows(raw_value);
  const FieldKind kind = classify_field(name);
  const std::size_t line_at = static_cast<std::size_t>(field.data() - head.data());
  const std::size_t value_at = value.empty() ? line_at + colon + 1 : static_cast<std::size_t>(value.data() - head.data());
  result.fields.add(line_at, name.size(), value_at, value.size(), kind);  // kMaxFields < its capacity
  if (Problem p = check_field_value(kind, value, result, tally)) return p;
  if (kind == FieldKind::HopByHop && name.size() == 7 && iequals(name, "upgrade") && http_text::names_websocket(value))
    tally.upgrade_websocket = true;
  note_route_field(name, value, names, result);
  return {};
}

// The body's framing and Host, once every field is known.
Problem check_framing(RequestCheck& result, const FieldTally& tally) {
  if (tally.te_count > 0) {
    if (result.content_length) return {400, "both Content-Length and Transfer-Encoding"};
    if (tally.te_count > 1 || tally.bad_te) return {400, "unsupported Transfer-Encoding"};
    if (result.http10) return {400, "Transfer-Encoding on HTTP/1.0"};
    result.chunked = true;
  }
  if (!result.http10 && tally.host_count != 1) return {400, tally.host_count ? "duplicate Host" : "missing Host"};
  if (tally.host_count > 1) return {400, "duplicate Host"};
  return {};
}

}  // namespace

RequestCheck check_request_head(std::string_view head, const RouteFieldNames& names) {
  if (const char* why = line_break_problem(head)) return reject(400, why);
  std::size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) return reject(400, "incomplete request line");
  RequestCheck result;
  if (Problem p = check_request_line(head.substr(0, eol), result)) return reject(p.status, p.reason);
  result.fields_begin = eol + 2;
  FieldTally tally;
  std::size_t pos = eol + 2;
  while (pos < head.size()) {
    std::size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) return reject(400, "incomplete header");
    if (end == pos) break;  // the empty line
    std::string_view field = head.substr(pos, end - pos);
    pos = end + 2;
    if (Problem p = check_field_line(head, field, names, result, tally)) return reject(p.status, p.reason);
  }
  result.keep_alive = tally.connection.persistent(result.http10);
  result.connection_names_fields = tally.connection.names_fields;
  result.has_host = tally.host_count > 0;
  if (Problem p = check_framing(result, tally)) return reject(p.status, p.reason);
  result.websocket = tally.upgrade_websocket && tally.connection.upgrade && !result.http10 && result.method == "GET" &&
                     !result.chunked && result.content_length.value_or(0) == 0;
  return result;
}

}  // namespace canaryd::proxy
