#include "proxy/head_rewrite.hpp"

#include <array>
#include <ostream>  // Beast's status.ipp prints a status_view without including it

#include <boost/beast/http/status.hpp>

#include "proxy/http_text.hpp"

namespace canaryd::proxy {
namespace http = boost::beast::http;
using http_text::FieldLine;
using http_text::FieldLines;
using http_text::iequals;

namespace {

// A received header block and what its Connection fields made hop-by-hop. The names are collected
// once (up to a handful; more than that, rare, are looked up in the block each time).
class Block {
 public:
  /// `required`: a field that stays even when Connection names it (Host: HTTP/1.1 needs one).
  Block(std::string_view head, std::size_t begin, bool names_fields, std::string_view required = {})
      : head_(head), begin_(begin), required_(required) {
    if (!names_fields) return;
    FieldLines lines(head, begin);
    FieldLine f;
    while (lines.next(f)) {
      if (!iequals(f.name, "connection")) continue;
      http_text::any_list_element(f.value, [&](std::string_view token) {
        if (iequals(token, "close") || iequals(token, "keep-alive")) return false;
        if (named_count_ == named_.size()) {
          overflow_ = true;
          return true;
        }
        named_[named_count_++] = token;
        return false;
      });
    }
  }

  std::string_view head() const { return head_; }
  std::size_t begin() const { return begin_; }

  bool end_to_end(std::string_view name) const {
    if (http_text::is_hop_by_hop(name)) return false;
    if (!required_.empty() && iequals(name, required_)) return true;
    if (overflow_) return !http_text::named_in_connection(head_, begin_, name);
    for (std::size_t i = 0; i < named_count_; ++i)
      if (iequals(named_[i], name)) return false;
    return true;
  }

 private:
  std::string_view head_;
  std::size_t begin_;
  std::string_view required_;
  std::array<std::string_view, 8> named_{};
  std::size_t named_count_ = 0;
  bool overflow_ = false;
};

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ", 2);
  out.append(value);
  out.append("\r\n", 2);
}

void append_number(std::string& out, std::uint64_t n) {
  char digits[20];
  std::size_t len = 0;
  do {
    digits[len++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  while (len > 0) out.push_back(digits[--len]);
}

// One field holding every end-to-end occurrence of `name` (RFC 9110 5.3 allows joining them) followed by
// `ours`; empty values are left out.
void append_joined(std::string& out, const Block& block, std::string_view name, std::string_view ours) {
  out.append(name);
  out.append(": ", 2);
  if (block.end_to_end(name)) {
    FieldLines lines(block.head(), block.begin());
    FieldLine f;
    while (lines.next(f)) {
      if (f.value.empty() || !iequals(f.name, name)) continue;
      out.append(f.value);
      out.append(", ", 2);
    }
  }
  out.append(ours);
  out.append("\r\n", 2);
}

// Copies every end-to-end field for which `keep(name)` holds, as "name: value" in received order.
template <class Keep>
void copy_fields(std::string& out, const Block& block, Keep&& keep) {
  FieldLines lines(block.head(), block.begin());
  FieldLine f;
  while (lines.next(f))
    if (keep(f.name) && block.end_to_end(f.name)) append_field(out, f.name, f.value);
}

void append_status_line(std::string& out, int status, std::string_view reason) {
  out.append("HTTP/1.1 ", 9);
  out.push_back(static_cast<char>('0' + status / 100 % 10));
  out.push_back(static_cast<char>('0' + status / 10 % 10));
  out.push_back(static_cast<char>('0' + status % 10));
  out.push_back(' ');
  if (reason.empty()) {
    // An upstream may send no reason phrase (RFC 9112 4); clients still like to see one, where there
    // is a standard one.
    const auto code = http::int_to_status(static_cast<unsigned>(status));
    if (code != http::status::unknown) {
      const auto standard = http::obsolete_reason(code);
      out.append(standard.data(), standard.size());
    }
  } else {
    out.append(reason);
  }
  out.append("\r\n", 2);
}

}  // namespace

void write_upstream_request(std::string_view head, const RequestCheck& check, const UpstreamRequestRewrite& rw,
                            std::string& out) {
  out.clear();
  const Block block{head, check.fields_begin, check.connection_names_fields, "host"};
  out.append(check.method);
  out.push_back(' ');
  if (check.target_needs_slash) out.push_back('/');
  out.append(check.target);
  out.append(" HTTP/1.1\r\n", 11);
  const bool host_from_target = !check.authority.empty();
  copy_fields(out, block, [&](std::string_view name) {
    if (!rw.override_header.empty() && iequals(name, rw.override_header)) return false;
    switch (name.size()) {
      case 3: return !iequals(name, "via");
      case 4: return !(host_from_target && iequals(name, "host"));
      case 6: return !iequals(name, "expect");
      case 14: return !iequals(name, "content-length");
      case 15: return !iequals(name, "x-forwarded-for");
      case 17: return !iequals(name, "x-forwarded-proto");
      default: return true;
    }
  });
  if (host_from_target)
    append_field(out, "Host", check.authority);
  else if (!check.has_host && !rw.host_if_missing.empty())
    append_field(out, "Host", rw.host_if_missing);
  append_joined(out, block, "X-Forwarded-For", rw.client_ip);
  append_field(out, "X-Forwarded-Proto", rw.proto);
  append_joined(out, block, "Via", check.http10 ? kViaEntryHttp10 : kViaEntry);
  if (rw.chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else if (check.content_length) {
    out.append("Content-Length: ");
    append_number(out, *check.content_length);
    out.append("\r\n", 2);
  }
  out.append("\r\n", 2);
}

void write_client_response(std::string_view head, const ResponseHead& response, const ClientResponseRewrite& rw,
                           std::string& out) {
  out.clear();
  const Block block{head, response.fields_begin, response.connection_names_fields};
  append_status_line(out, response.status, response.reason);
  copy_fields(out, block, [&](std::string_view name) {
    if (name.size() == 3 && iequals(name, "via")) return false;
    if (name.size() == 14 && iequals(name, "content-length")) return false;
    return rw.set_header.empty() || !iequals(name, rw.set_header);
  });
  if (response.content_length && !rw.chunked) {
    out.append("Content-Length: ");
    append_number(out, *response.content_length);
    out.append("\r\n", 2);
  }
  append_joined(out, block, "Via", rw.via_entry);
  if (!rw.set_header.empty()) append_field(out, rw.set_header, rw.set_name);
  if (rw.chunked) out.append("Transfer-Encoding: chunked\r\n");
  if (rw.connection == ClientResponseRewrite::Connection::Close)
    out.append("Connection: close\r\n");
  else if (rw.connection == ClientResponseRewrite::Connection::KeepAlive)
    out.append("Connection: keep-alive\r\n");
  out.append("\r\n", 2);
}

void write_interim_response(std::string_view head, const ResponseHead& response, std::string& out) {
  out.clear();
  const Block block{head, response.fields_begin, response.connection_names_fields};
  append_status_line(out, response.status, response.reason);
  copy_fields(out, block, [](std::string_view) { return true; });
  out.append("\r\n", 2);
}

}  // namespace canaryd::proxy
