// How a relayed response goes to the client: its body's framing on both sides and whether either
// connection stays open, decided from the request and the response head alone (no sockets).
#pragma once

#include "proxy/http/head_rewrite.hpp"
#include "proxy/http/response_head.hpp"

namespace canaryd::proxy {

/// What the client's request contributes to the plan.
struct ResponsePlanInput {
  bool head_request = false;  ///< a HEAD request: the response has no body whatever its fields say
  bool client_http10 = false;
  bool client_keep = false;   ///< the client's request allows keep-alive and we were not draining
  bool draining = false;      ///< draining now (SIGTERM may have come while we waited)
};

struct ResponsePlan {
  /// None: no body (HEAD, 204, 304). Length: relayed as it is, Content-Length bytes. Decoded: chunked
  /// or until the upstream closes; decoded, and sent chunked to an HTTP/1.1 client, until our close to
  /// an HTTP/1.0 one.
  enum class Body { None, Length, Decoded } body = Body::None;
  bool upstream_keep = false;  ///< the upstream connection may go back to the pool afterwards
  bool client_keep = false;    ///< the client connection stays open for its next request
  bool chunked = false;        ///< the body goes to the client chunked
  bool codings_to_content_encoding = false;  ///< see ClientResponseRewrite
  ClientResponseRewrite::Connection connection = ClientResponseRewrite::Connection::Default;
};

/// The plan for a final response (status >= 200, not 101).
ResponsePlan plan_response(const ResponseHead& response, const ResponsePlanInput& request);

}  // namespace canaryd::proxy
