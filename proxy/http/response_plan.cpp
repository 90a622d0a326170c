// The response framing plan of response_plan.hpp.
#include "proxy/http/response_plan.hpp"

namespace canaryd::proxy {

ResponsePlan plan_response(const ResponseHead& response, const ResponsePlanInput& request) {
  ResponsePlan plan;
  const int status = response.status;
  const bool no_body = request.head_request || status == 204 || status == 304;
  const bool decode = !no_body && !response.content_length;
  plan.body = no_body ? ResponsePlan::Body::None : decode ? ResponsePlan::Body::Decoded : ResponsePlan::Body::Length;
  plan.upstream_keep = response.keep_alive && (no_body || !response.until_close);
  // An HTTP/1.0 client reads a body of unknown length until we close.
  plan.client_keep = request.client_keep && !request.draining && !(decode && request.client_http10);
  plan.chunked = decode && !request.client_http10;
  plan.codings_to_content_encoding = decode && request.client_http10;
  if (!plan.client_keep)
    plan.connection = ClientResponseRewrite::Connection::Close;
  else if (request.client_http10)
    plan.connection = ClientResponseRewrite::Connection::KeepAlive;
  return plan;
}

}  // namespace canaryd::proxy
