// Unit tests of control-port answer bytes: HEAD, Allow with HEAD, extra fields, connection handling, JSON
// errors.
#include "proxy/control/control_response.hpp"

#include <gtest/gtest.h>

namespace canaryd::proxy {
namespace {

ControlReply reply(int status, std::string body) {
  ControlReply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(ControlResponseTest, HeadSendsTheGetFieldsAndLengthWithoutTheBody) {
  const std::string get = format_control_response(reply(200, "{\"a\": 1}"), {false, true, false});
  const std::string head = format_control_response(reply(200, "{\"a\": 1}"), {true, true, false});
  EXPECT_EQ(get,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
            "Content-Length: 8\r\n\r\n{\"a\": 1}");
  EXPECT_EQ(head, get.substr(0, get.size() - 8));
}

TEST(ControlResponseTest, AllowListsHeadWhereverItListsGet) {
  ControlReply r = reply(405, "{}");
  r.allow = "GET";
  EXPECT_NE(format_control_response(r, {}).find("\r\nAllow: GET, HEAD\r\n"), std::string::npos);
  r.allow = "GET, HEAD";
  EXPECT_NE(format_control_response(r, {}).find("\r\nAllow: GET, HEAD\r\n"), std::string::npos);
  r.allow = "PUT, DELETE";
  EXPECT_NE(format_control_response(r, {}).find("\r\nAllow: PUT, DELETE\r\n"), std::string::npos);
}

TEST(ControlResponseTest, ExtraFieldsAndConnectionHandling) {
  ControlReply r = reply(401, "{}");
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"canaryd\"");
  const std::string closing = format_control_response(r, {false, false, false});
  EXPECT_EQ(closing.substr(0, 30), "HTTP/1.1 401 Unauthorized\r\nCon");
  EXPECT_NE(closing.find("\r\nWWW-Authenticate: Bearer realm=\"canaryd\"\r\n"), std::string::npos);
  EXPECT_NE(closing.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_NE(format_control_response(r, {false, true, true}).find("\r\nConnection: keep-alive\r\n"), std::string::npos);
  EXPECT_EQ(format_control_response(r, {false, true, false}).find("Connection:"), std::string::npos);
}

TEST(ControlResponseTest, ErrorsAreJsonWithAKind) {
  const ControlReply r = control_error(400, "bad \"quote\"");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, "{\"error\":\"bad \\\"quote\\\"\",\"kind\":\"bad_request\"}");
}

}  // namespace
}  // namespace canaryd::proxy
