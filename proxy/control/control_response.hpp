// The bytes of a control-port answer: one place that decides its status line, fields and framing, so
// that HEAD, 405 and error answers are the same everywhere.
#pragma once

#include <string>
#include <string_view>

#include "proxy/control/control_server.hpp"

namespace canaryd::proxy {

/// How the answer is sent.
struct ResponseFraming {
  bool head = false;        ///< a HEAD request: the GET answer's fields, Content-Length included, no body
  bool keep_alive = true;   ///< false: "Connection: close"
  bool http10 = false;      ///< an HTTP/1.0 client that keeps the connection gets "Connection: keep-alive"
};

/// The complete HTTP/1.1 response for `reply`. Allow lists HEAD wherever it lists GET.
std::string format_control_response(const ControlReply& reply, ResponseFraming framing);

/// A JSON error answer: `{"error": message, "kind": ...}`, the kind mapped from the status as the API does.
ControlReply control_error(int status, std::string_view message);

}  // namespace canaryd::proxy
