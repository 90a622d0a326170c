// The seam between canaryctl's logic and the network: a request, an answer or a transport error, and the
// Transport interface that tests replace.
#pragma once

#include <string>

#include "config/result.hpp"
#include "ctl/server_url.hpp"

namespace canaryd::ctl {

/// One control API call on the wire.
struct HttpRequest {
  std::string method;  ///< "GET", "PUT", "POST", "DELETE"
  std::string target;  ///< base path + "/api/..."
  std::string body;    ///< JSON; empty means no body
  std::string token;   ///< sent as "Authorization: Bearer <token>" when not empty
};

/// Whatever the server answered, refusals included.
struct HttpResponse {
  int status = 0;
  std::string reason;
  std::string body;
};

/// The server could not be reached or did not answer in HTTP: canaryctl exits 3.
struct TransportError {
  std::string message;
};

using TransportResult = Result<HttpResponse, TransportError>;

/// Sends one request and waits for its answer. An interface so the command logic is tested without
/// sockets.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual TransportResult send(const ServerUrl& server, const HttpRequest& request) = 0;
};

}  // namespace canaryd::ctl
