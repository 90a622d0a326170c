// Formats a control-port answer's bytes and its JSON error answers (see control_response.hpp).
#include "proxy/control/control_response.hpp"

#include "proxy/http/http_text.hpp"
#include "proxy/http/local_reply.hpp"
#include "weights/api_error.hpp"

namespace canaryd::proxy {
namespace {

bool lists_method(std::string_view methods, std::string_view method) {
  while (!methods.empty()) {
    const auto comma = methods.find(',');
    if (http_text::trim_ows(methods.substr(0, comma)) == method) return true;
    if (comma == std::string_view::npos) break;
    methods.remove_prefix(comma + 1);
  }
  return false;
}

// RFC 9110 9.3.2: HEAD is allowed wherever GET is; the handler lists only what it was asked about.
std::string allow_with_head(const std::string& allow) {
  if (lists_method(allow, "GET") && !lists_method(allow, "HEAD")) return allow + ", HEAD";
  return allow;
}

// The control port has always named 413 as Beast does (RFC 7231's "Payload Too Large"), the data
// plane as RFC 9110 does; the shared table has the latter. Kept so that no answer's bytes change.
std::string_view control_reason(int status) { return status == 413 ? "Payload Too Large" : reason_phrase(status); }

}  // namespace

std::string format_control_response(const ControlReply& reply, ResponseFraming framing) {
  std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " ";
  out += control_reason(reply.status);
  out += "\r\nContent-Type: " + reply.content_type;
  out += "\r\nCache-Control: no-store";
  if (!reply.allow.empty()) out += "\r\nAllow: " + allow_with_head(reply.allow);
  for (const auto& [name, value] : reply.headers) out += "\r\n" + name + ": " + value;
  out += "\r\nContent-Length: " + std::to_string(reply.body.size());
  if (!framing.keep_alive) {
    out += "\r\nConnection: close";
  } else if (framing.http10) {
    out += "\r\nConnection: keep-alive";
  }
  out += "\r\n\r\n";
  if (!framing.head) out += reply.body;
  return out;
}

ControlReply control_error(int status, std::string_view message) {
  ControlReply r;
  r.status = status;
  r.body = weights::error_json(status, message);
  return r;
}

}  // namespace canaryd::proxy
