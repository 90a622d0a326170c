// The HTTP/2 <-> HTTP/1.1 header conversions of h2_fields.hpp.
#include "proxy/http/h2_fields.hpp"

#include <array>

#include "proxy/http/http_text.hpp"

namespace canaryd::proxy {

bool h2_connection_specific(std::string_view name) {
  static constexpr std::array<std::string_view, 6> kNames = {"connection", "keep-alive", "proxy-connection",
                                                             "transfer-encoding", "upgrade", "te"};
  for (auto n : kNames)
    if (http_text::iequals(n, name)) return true;
  return false;
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

void h2_response_fields(std::string& head, std::vector<H2Field>& out) {
  out.clear();
  out.reserve(16);  // most responses: one allocation
  std::size_t pos = head.find("\r\n");
  if (pos == std::string::npos) return;
  pos += 2;
  while (pos + 2 <= head.size() && head.compare(pos, 2, "\r\n") != 0) {
    const std::size_t eol = head.find("\r\n", pos);
    if (eol == std::string::npos) return;
    const std::size_t colon = head.find(':', pos);
    if (colon == std::string::npos || colon > eol) {
      pos = eol + 2;
      continue;
    }
    for (std::size_t i = pos; i < colon; ++i) head[i] = http_text::lower(head[i]);
    std::size_t v = colon + 1;
    while (v < eol && (head[v] == ' ' || head[v] == '\t')) ++v;
    std::size_t e = eol;
    while (e > v && (head[e - 1] == ' ' || head[e - 1] == '\t')) --e;
    const std::string_view name(head.data() + pos, colon - pos);
    if (!h2_connection_specific(name)) out.push_back({name, std::string_view(head.data() + v, e - v)});
    pos = eol + 2;
  }
}

}  // namespace canaryd::proxy
