// Writes the upstream request head and the client response head from the received ones (see
// head_rewrite.hpp): hop-by-hop fields dropped, Content-Length, Via and X-Forwarded-* written anew.
#include "proxy/http/head_rewrite.hpp"

#include "proxy/http/cookies.hpp"

#include <array>
#include <ostream>  // Beast's status.ipp prints a status_view without including it

#include <boost/beast/http/status.hpp>

#include "proxy/http/http_text.hpp"

namespace canaryd::proxy {
namespace http = boost::beast::http;
using http_text::iequals;

namespace {

// The fields a message's Connection fields name, hop-by-hop for this message (RFC 9110 7.6.1),
// collected once per message: up to a handful (more, rare, are looked up in the block each time).
class ConnectionNamed {
 public:
  ConnectionNamed(std::string_view head, const FieldIndex& fields, bool names_fields) : head_(head), fields_(fields) {
    if (!names_fields) return;
    for (const auto& f : fields) {
      if (f.kind != FieldKind::Connection) continue;
      http_text::any_list_element(FieldIndex::value(head, f), [&](std::string_view token) {
        if (iequals(token, "close") || iequals(token, "keep-alive")) return false;
        if (count_ == named_.size()) {
          overflow_ = true;
          return true;
        }
        named_[count_++] = token;
        return false;
      });
    }
  }

  bool contains(std::string_view name) const {
    for (std::size_t i = 0; i < count_; ++i)
      if (iequals(named_[i], name)) return true;
    if (!overflow_) return false;
    for (const auto& f : fields_) {
      if (f.kind != FieldKind::Connection) continue;
      if (http_text::any_list_element(FieldIndex::value(head_, f), [&](std::string_view t) { return iequals(t, name); }))
        return true;
    }
    return false;
  }

 private:
  std::string_view head_;
  const FieldIndex& fields_;
  std::array<std::string_view, 8> named_{};
  std::size_t count_ = 0;
  bool overflow_ = false;
};

bool is_hop_by_hop(FieldKind kind) {
  return kind == FieldKind::HopByHop || kind == FieldKind::Connection || kind == FieldKind::TransferEncoding;
}

// An Upgrade field line (the only hop-by-hop field a WebSocket handshake passes on).
bool is_upgrade(std::string_view head, const FieldIndex::Field& f) {
  return f.kind == FieldKind::HopByHop && f.name_len == 7 && iequals(FieldIndex::name(head, f), "upgrade");
}

constexpr std::string_view kConnectionUpgrade = "Connection: upgrade\r\n";

void append_field(std::string& out, std::string_view name, std::string_view value);

// A field as received, written "Name: value": copied as one piece when it came in that form (nearly
// always), otherwise with its whitespace normalised.
void append_line(std::string& out, std::string_view head, const FieldIndex::Field& f) {
  if (f.value_at == f.at + f.name_len + 2 && head[f.at + f.name_len + 1] == ' ') {
    out.append(FieldIndex::line(head, f));
    out.append("\r\n", 2);
  } else {
    append_field(out, FieldIndex::name(head, f), FieldIndex::value(head, f));
  }
}

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

// One field holding every end-to-end occurrence of a field (RFC 9110 5.3 allows joining them),
// followed by `ours`; empty values are left out.
void append_joined(std::string& out, std::string_view head, const FieldIndex& fields, const ConnectionNamed& named,
                   FieldKind kind, std::string_view name, std::string_view ours) {
  out.append(name);
  out.append(": ", 2);
  if (!named.contains(name)) {
    for (const auto& f : fields) {
      if (f.kind != kind || f.value_len == 0) continue;
      out.append(FieldIndex::value(head, f));
      out.append(", ", 2);
    }
  }
  out.append(ours);
  out.append("\r\n", 2);
}

// The upstream's transfer codings other than chunked (and identity), in order and as received, each
// followed by ", ".
void append_transfer_codings(std::string& out, std::string_view head, const FieldIndex& fields) {
  for (const auto& f : fields) {
    if (f.kind != FieldKind::TransferEncoding) continue;
    http_text::any_list_element(FieldIndex::value(head, f), [&](std::string_view coding) {
      // chunked is only ever the last (parse_response_head), and applied again by us; identity is no
      // coding at all.
      const std::string_view name = http_text::coding_name(coding);
      if (iequals(name, "chunked") || iequals(name, "identity")) return false;
      out.append(coding);
      out.append(", ", 2);
      return false;
    });
  }
}

bool is_content_encoding(std::string_view head, const FieldIndex::Field& f) {
  return f.kind == FieldKind::Other && iequals(FieldIndex::name(head, f), "content-encoding");
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
  const ConnectionNamed named(head, check.fields, check.connection_names_fields);
  out.append(check.method);
  out.push_back(' ');
  if (check.target_needs_slash) out.push_back('/');
  out.append(check.target);
  out.append(" HTTP/1.1\r\n", 11);
  const bool host_from_target = !check.authority.empty();
  for (const auto& f : check.fields) {
    switch (f.kind) {
      case FieldKind::Host:
        // Kept even when Connection names it: HTTP/1.1 needs one.
        if (host_from_target) continue;
        break;
      case FieldKind::Other: {
        const std::string_view name = FieldIndex::name(head, f);
        if (!rw.override_header.empty() && iequals(name, rw.override_header)) continue;
        if (named.contains(name)) continue;
        break;
      }
      case FieldKind::HopByHop:
        if (check.websocket && is_upgrade(head, f)) break;
        continue;
      default:  // hop-by-hop, framing, Expect, and the fields replaced below
        continue;
    }
    append_line(out, head, f);
  }
  if (host_from_target)
    append_field(out, "Host", check.authority);
  else if (!check.has_host && !rw.host_if_missing.empty())
    append_field(out, "Host", rw.host_if_missing);
  append_joined(out, head, check.fields, named, FieldKind::XForwardedFor, "X-Forwarded-For", rw.client_ip);
  append_field(out, "X-Forwarded-Proto", rw.proto);
  append_joined(out, head, check.fields, named, FieldKind::Via, "Via",
                 !rw.via_entry.empty() ? rw.via_entry : check.http10 ? kViaEntryHttp10 : kViaEntry);
  if (rw.chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else if (check.content_length) {
    out.append("Content-Length: ");
    append_number(out, *check.content_length);
    out.append("\r\n", 2);
  }
  if (check.websocket) out.append(kConnectionUpgrade);
  out.append("\r\n", 2);
}

void write_client_response(std::string_view head, const ResponseHead& response, const ClientResponseRewrite& rw,
                           std::string& out) {
  out.clear();
  const ConnectionNamed named(head, response.fields, response.connection_names_fields);
  append_status_line(out, response.status, response.reason);
  const bool joined_coding = rw.codings_to_content_encoding && response.transfer_coded;
  for (const auto& f : response.fields) {
    if (rw.upgrade && is_upgrade(head, f)) {  // kept even when Connection names it, as it does
      append_line(out, head, f);
      continue;
    }
    if (is_hop_by_hop(f.kind) || f.kind == FieldKind::ContentLength || f.kind == FieldKind::Via) continue;
    if (joined_coding && is_content_encoding(head, f)) continue;
    const std::string_view name = FieldIndex::name(head, f);
    if (!rw.set_header.empty() && iequals(name, rw.set_header)) continue;
    if (!rw.reason.empty() && iequals(name, kReasonHeader)) continue;
    if (named.contains(name)) continue;
    append_line(out, head, f);
  }
  if (response.content_length && !rw.chunked && !rw.upgrade) {
    out.append("Content-Length: ");
    append_number(out, *response.content_length);
    out.append("\r\n", 2);
  }
  append_joined(out, head, response.fields, named, FieldKind::Via, "Via", rw.via_entry);
  if (!rw.set_header.empty()) append_field(out, rw.set_header, rw.set_name);
  if (!rw.reason.empty()) append_field(out, kReasonHeader, rw.reason);
  if (!rw.set_cookie_name.empty()) append_set_cookie(out, rw.set_cookie_name, rw.set_cookie_value);
  if (rw.chunked) {
    out.append("Transfer-Encoding: ");
    if (response.transfer_coded) append_transfer_codings(out, head, response.fields);
    out.append("chunked\r\n");
  }
  if (joined_coding) {
    out.append("Content-Encoding: ");
    const bool hop_by_hop = named.contains("content-encoding");
    for (const auto& f : response.fields) {
      if (hop_by_hop || !is_content_encoding(head, f) || f.value_len == 0) continue;
      out.append(FieldIndex::value(head, f));
      out.append(", ", 2);
    }
    append_transfer_codings(out, head, response.fields);
    out.resize(out.size() - 2);  // the last ", ": there is at least one transfer coding
    out.append("\r\n", 2);
  }
  if (rw.upgrade)
    out.append(kConnectionUpgrade);
  else if (rw.connection == ClientResponseRewrite::Connection::Close)
    out.append("Connection: close\r\n");
  else if (rw.connection == ClientResponseRewrite::Connection::KeepAlive)
    out.append("Connection: keep-alive\r\n");
  out.append("\r\n", 2);
}

void write_interim_response(std::string_view head, const ResponseHead& response, std::string& out) {
  out.clear();
  const ConnectionNamed named(head, response.fields, response.connection_names_fields);
  append_status_line(out, response.status, response.reason);
  for (const auto& f : response.fields)
    if (!is_hop_by_hop(f.kind) && !named.contains(FieldIndex::name(head, f))) append_line(out, head, f);
  out.append("\r\n", 2);
}

}  // namespace canaryd::proxy
