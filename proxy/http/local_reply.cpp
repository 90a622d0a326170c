// The reason-phrase table and the renderer of canaryd's own replies (see local_reply.hpp).
#include "proxy/http/local_reply.hpp"

#include <array>
#include <charconv>

namespace canaryd::proxy {
namespace {

struct StatusReason {
  int status;
  std::string_view reason;
};

// Every status canaryd answers itself, on the data plane or the control port.
constexpr std::array<StatusReason, 27> kReasons{{
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {417, "Expectation Failed"},
    {422, "Unprocessable Entity"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
}};

void append_number(std::string& out, std::size_t n) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

}  // namespace

std::string_view reason_phrase(int status) {
  for (const auto& r : kReasons)
    if (r.status == status) return r.reason;
  return "Error";
}

void render_local_reply(const LocalReply& reply, const LocalReplyFraming& framing, std::string& out) {
  out.clear();
  out += "HTTP/1.1 ";
  append_number(out, static_cast<std::size_t>(reply.status));
  out += ' ';
  out += reason_phrase(reply.status);
  out += "\r\nContent-Type: text/plain\r\nContent-Length: ";
  append_number(out, reply.text.size() + 1);
  out += "\r\n";
  if (!framing.field_name.empty()) {
    out += framing.field_name;
    out += ": ";
    out += framing.field_value;
    out += "\r\n";
  }
  if (!framing.reason.empty()) {
    out += "X-Canary-Reason: ";
    out += framing.reason;
    out += "\r\n";
  }
  out += framing.keep_alive ? "\r\n" : "Connection: close\r\n\r\n";
  out += reply.text;
  out += '\n';
}

std::string_view refusal_reply() {
  // Rendered on the first refusal, then only read: a refused client costs no allocation.
  static const std::string rendered = [] {
    std::string out;
    render_local_reply(local_reply::kTooManyConnections, {false, "Retry-After", "1", {}}, out);
    return out;
  }();
  return rendered;
}

}  // namespace canaryd::proxy
