// The response framing plan: body kind on both sides and which connections stay open, without sockets.
#include "proxy/http/response_plan.hpp"

#include <gtest/gtest.h>

namespace canaryd::proxy {
namespace {

using Body = ResponsePlan::Body;
using Connection = ClientResponseRewrite::Connection;

// A keep-alive response framed by Content-Length (`length`), chunked, or until the upstream closes
// (Connection said keep-alive; the body's framing overrides it).
enum class Framing { Length, Chunked, UntilClose };
ResponseHead response(int status, Framing framing, std::uint64_t length = 0) {
  ResponseHead r;
  r.status = status;
  r.keep_alive = true;
  if (framing == Framing::Length) r.content_length = length;
  r.chunked = framing == Framing::Chunked;
  r.until_close = framing == Framing::UntilClose;
  return r;
}
ResponseHead with_length(int status, std::uint64_t length) { return response(status, Framing::Length, length); }
ResponseHead chunked(int status) { return response(status, Framing::Chunked); }
ResponseHead until_close(int status) { return response(status, Framing::UntilClose); }

ResponsePlanInput http11_keep() { return {false, false, true, false}; }
ResponsePlanInput http10_keep() { return {false, true, true, false}; }

TEST(ResponsePlan, ContentLengthKeepsBothConnections) {
  const ResponsePlan p = plan_response(with_length(200, 12), http11_keep());
  EXPECT_EQ(p.body, Body::Length);
  EXPECT_TRUE(p.upstream_keep);
  EXPECT_TRUE(p.client_keep);
  EXPECT_FALSE(p.chunked);
  EXPECT_EQ(p.connection, Connection::Default);
}

TEST(ResponsePlan, NoBodyForHeadAnd204And304) {
  ResponsePlanInput head = http11_keep();
  head.head_request = true;
  EXPECT_EQ(plan_response(chunked(200), head).body, Body::None);
  EXPECT_EQ(plan_response(chunked(204), http11_keep()).body, Body::None);
  EXPECT_EQ(plan_response(until_close(304), http11_keep()).body, Body::None);
  // Without a body, a response framed until close does not close the upstream connection.
  EXPECT_TRUE(plan_response(until_close(304), http11_keep()).upstream_keep);
}

TEST(ResponsePlan, ChunkedIsDecodedAndSentChunkedToHttp11) {
  const ResponsePlan p = plan_response(chunked(200), http11_keep());
  EXPECT_EQ(p.body, Body::Decoded);
  EXPECT_TRUE(p.chunked);
  EXPECT_FALSE(p.codings_to_content_encoding);
  EXPECT_TRUE(p.client_keep);
  EXPECT_TRUE(p.upstream_keep);
}

TEST(ResponsePlan, UntilCloseNeverGoesBackToThePool) {
  const ResponsePlan p = plan_response(until_close(200), http11_keep());
  EXPECT_EQ(p.body, Body::Decoded);
  EXPECT_FALSE(p.upstream_keep);
  EXPECT_TRUE(p.client_keep);
}

TEST(ResponsePlan, Http10ClientReadsADecodedBodyUntilClose) {
  const ResponsePlan p = plan_response(chunked(200), http10_keep());
  EXPECT_EQ(p.body, Body::Decoded);
  EXPECT_FALSE(p.chunked);
  EXPECT_TRUE(p.codings_to_content_encoding);
  EXPECT_FALSE(p.client_keep);
  EXPECT_EQ(p.connection, Connection::Close);
}

TEST(ResponsePlan, Http10ClientKeepingALengthBodyIsToldKeepAlive) {
  const ResponsePlan p = plan_response(with_length(200, 3), http10_keep());
  EXPECT_TRUE(p.client_keep);
  EXPECT_EQ(p.connection, Connection::KeepAlive);
}

TEST(ResponsePlan, DrainingOrAClientThatClosesGetsConnectionClose) {
  ResponsePlanInput draining = http11_keep();
  draining.draining = true;
  EXPECT_FALSE(plan_response(with_length(200, 3), draining).client_keep);
  EXPECT_EQ(plan_response(with_length(200, 3), draining).connection, Connection::Close);
  ResponsePlanInput closing = http11_keep();
  closing.client_keep = false;
  EXPECT_EQ(plan_response(with_length(200, 3), closing).connection, Connection::Close);
}

TEST(ResponsePlan, UpstreamThatClosesIsNotPooled) {
  ResponseHead r = with_length(200, 3);
  r.keep_alive = false;
  const ResponsePlan p = plan_response(r, http11_keep());
  EXPECT_FALSE(p.upstream_keep);
  EXPECT_TRUE(p.client_keep);
}

}  // namespace
}  // namespace canaryd::proxy
