// The HTTP/2 <-> HTTP/1.1 header conversions of h2_fields.hpp.
#include "proxy/http/h2_fields.hpp"

#include <cstring>

#include "proxy/http/http_text.hpp"

namespace canaryd::proxy {

bool h2_connection_specific(std::string_view name) {
  // By length first: most names are ruled out without a comparison (this runs for every field of every
  // response). Names are lower-case here (the header's contract), so the comparisons are exact.
  switch (name.size()) {
    case 2: return name == "te";
    case 7: return name == "upgrade";
    case 10: return name == "connection" || name == "keep-alive";
    case 16: return name == "proxy-connection";
    case 17: return name == "transfer-encoding";
    default: return false;
  }
}

void H2RequestHead::reset() {
  head_.clear();
  cookie_.clear();
  method_.clear();
  scheme_.clear();
  authority_.clear();
  path_.clear();
  error_ = nullptr;
  list_size_ = 0;
  fields_started_ = false;
  has_content_length_ = false;
}

bool H2RequestHead::fail(const char* why) {
  if (!error_) error_ = why;
  return false;
}

void H2RequestHead::start_fields() {
  fields_started_ = true;
  head_.reserve(512);  // most request heads: one allocation
  head_.append(method_).append(" ").append(path_).append(" HTTP/1.1\r\n");
  if (!authority_.empty()) head_.append("Host: ").append(authority_).append("\r\n");
}

bool H2RequestHead::add(std::string_view name, std::string_view value) {
  list_size_ += name.size() + value.size() + 32;
  if (error_) return false;
  if (!name.empty() && name[0] == ':') {
    if (fields_started_) return fail("pseudo-header field after a regular field");
    std::string* slot = name == ":method"      ? &method_
                        : name == ":scheme"    ? &scheme_
                        : name == ":authority" ? &authority_
                        : name == ":path"      ? &path_
                                               : nullptr;
    if (!slot) return fail("unknown pseudo-header field");
    if (!slot->empty()) return fail("repeated pseudo-header field");
    if (value.empty()) return fail("empty pseudo-header field");
    slot->assign(value);
    return true;
  }
  if (!fields_started_) {
    if (method_.empty()) return fail("no :method");
    if (method_ == "CONNECT") return fail("CONNECT is not supported");
    if (path_.empty() || scheme_.empty()) return fail("no :path or :scheme");
    start_fields();
  }
  if (name == "te") {
    if (!http_text::iequals(value, "trailers")) return fail("connection-specific field te");
    return true;  // allowed, and hop-by-hop: not forwarded
  }
  if (h2_connection_specific(name)) return fail("connection-specific field");
  if (name == "cookie") {
    if (!cookie_.empty()) cookie_.append("; ");
    cookie_.append(value);
    return true;
  }
  if (name == "host" && !authority_.empty()) return true;  // :authority wins (RFC 9113 8.3.1)
  if (name == "content-length") has_content_length_ = true;
  head_.append(name).append(": ").append(value).append("\r\n");
  return true;
}

std::string_view H2RequestHead::finish(bool unknown_length_body) {
  if (!error_ && !fields_started_) {
    if (method_.empty()) fail("no :method");
    else if (method_ == "CONNECT") fail("CONNECT is not supported");
    else if (path_.empty() || scheme_.empty()) fail("no :path or :scheme");
    else start_fields();
  }
  if (error_) return {};
  if (!cookie_.empty()) head_.append("Cookie: ").append(cookie_).append("\r\n");
  if (unknown_length_body && !has_content_length_) head_.append("Transfer-Encoding: chunked\r\n");
  head_.append("\r\n");
  return head_;
}

namespace {

// The CR of the next CRLF at or after `from`, or nullptr.
char* find_crlf(char* from, const char* stop) {
  while (stop - from >= 2) {
    auto* lf = static_cast<char*>(std::memchr(from + 1, '\n', static_cast<std::size_t>(stop - from - 1)));
    if (!lf) return nullptr;
    if (lf[-1] == '\r') return lf - 1;
    from = lf;
  }
  return nullptr;
}

}  // namespace

void h2_response_fields(std::string& head, std::vector<H2Field>& out) {
  out.clear();
  out.reserve(16);  // most responses: one allocation
  const char* const stop = head.data() + head.size();
  char* line = find_crlf(head.data(), stop);
  if (!line) return;
  line += 2;
  // One pass over each line: the name lower-cased up to the colon, the value trimmed.
  while (stop - line >= 2 && !(line[0] == '\r' && line[1] == '\n')) {
    char* const eol = find_crlf(line, stop);
    if (!eol) return;
    char* colon = static_cast<char*>(std::memchr(line, ':', static_cast<std::size_t>(eol - line)));
    if (colon) {
      for (char* p = line; p < colon; ++p) *p = http_text::lower(*p);
      const std::string_view name(line, static_cast<std::size_t>(colon - line));
      const char* v = colon + 1;
      const char* e = eol;
      while (v < e && (*v == ' ' || *v == '\t')) ++v;
      while (e > v && (e[-1] == ' ' || e[-1] == '\t')) --e;
      if (!h2_connection_specific(name)) out.push_back({name, std::string_view(v, static_cast<std::size_t>(e - v))});
    }
    line = eol + 2;
  }
}

}  // namespace canaryd::proxy
