// The one table of local replies: the bytes each renders, Content-Length computed from the body.
#include "proxy/http/local_reply.hpp"

#include <gtest/gtest.h>

#include <string>

namespace canaryd::proxy {
namespace {

std::string render(const LocalReply& reply, const LocalReplyFraming& framing) {
  std::string out = "stale";
  render_local_reply(reply, framing, out);
  return out;
}

TEST(LocalReply, ClosingReplyWithoutSetHeader) {
  EXPECT_EQ(render(local_reply::kHeaderTimeout, {}),
            "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\nContent-Length: 23\r\n"
            "Connection: close\r\n\r\nrequest header timeout\n");
}

TEST(LocalReply, KeepAliveReplyNamesTheSet) {
  EXPECT_EQ(render(local_reply::kNoHealthyEndpoint, {true, "X-Canary-Set", "canary"}),
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n"
            "X-Canary-Set: canary\r\n\r\nno healthy endpoint\n");
}

TEST(LocalReply, RefusalIsTheBytesWorkersAlwaysSent) {
  EXPECT_EQ(refusal_reply(),
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n"
            "Retry-After: 1\r\nConnection: close\r\n\r\ntoo many connections\n");
  EXPECT_EQ(refusal_reply().data(), refusal_reply().data());  // rendered once
}

TEST(LocalReply, ContentLengthCountsTheBodyAndItsNewline) {
  for (std::string_view text : {"", "x", "a longer reason given by the request check"}) {
    const std::string out = render({400, text}, {});
    const std::string body = std::string(text) + "\n";
    EXPECT_NE(out.find("Content-Length: " + std::to_string(body.size()) + "\r\n"), std::string::npos) << out;
    EXPECT_TRUE(out.ends_with("\r\n\r\n" + body)) << out;
  }
}

TEST(LocalReply, ReasonPhrases) {
  EXPECT_EQ(reason_phrase(200), "OK");
  EXPECT_EQ(reason_phrase(400), "Bad Request");
  EXPECT_EQ(reason_phrase(405), "Method Not Allowed");
  EXPECT_EQ(reason_phrase(408), "Request Timeout");
  EXPECT_EQ(reason_phrase(411), "Length Required");
  EXPECT_EQ(reason_phrase(413), "Content Too Large");
  EXPECT_EQ(reason_phrase(414), "URI Too Long");
  EXPECT_EQ(reason_phrase(417), "Expectation Failed");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(502), "Bad Gateway");
  EXPECT_EQ(reason_phrase(503), "Service Unavailable");
  EXPECT_EQ(reason_phrase(504), "Gateway Timeout");
  EXPECT_EQ(reason_phrase(505), "HTTP Version Not Supported");
  EXPECT_EQ(reason_phrase(599), "Error");
}

TEST(LocalReply, EveryFixedReplyIsAnErrorWithAText) {
  for (const LocalReply& r :
       {local_reply::kHeaderTimeout, local_reply::kHeaderTooLarge, local_reply::kBareLineBreak,
        local_reply::kBodyTooLarge, local_reply::kConnectUnsupported, local_reply::kUnsupportedExpectation,
        local_reply::kNoHealthyEndpoint, local_reply::kOutOfDescriptors, local_reply::kUnreachable,
        local_reply::kInvalidResponse, local_reply::kUpstreamTimeout, local_reply::kUpstreamClosed,
        local_reply::kSwitchedProtocols, local_reply::kTooManyConnections}) {
    EXPECT_GE(r.status, 400);
    EXPECT_NE(reason_phrase(r.status), "Error") << r.status;
    EXPECT_FALSE(r.text.empty());
  }
}

}  // namespace
}  // namespace canaryd::proxy
