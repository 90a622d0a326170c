// Unit tests of the WebSocket handshake on its way through: which requests are recognised as one (a
// table of Upgrade/Connection variants, methods, versions and bodies), the upstream head that carries
// it, the 101 that accepts it and the 101 head the client gets.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/head_rewrite.hpp"
#include "proxy/http/request_validator.hpp"
#include "proxy/http/response_head.hpp"

namespace canaryd::proxy {
namespace {

std::string block(std::string_view start_line, const std::vector<std::string_view>& fields) {
  std::string out(start_line);
  out += "\r\n";
  for (std::string_view f : fields) {
    out += f;
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}

// How many times `line` (a whole field line, without CRLF) is in the head `out`.
std::size_t lines_of(const std::string& out, std::string_view line) {
  const std::string needle = "\r\n" + std::string(line) + "\r\n";
  std::size_t n = 0;
  for (std::size_t at = out.find(needle); at != std::string::npos; at = out.find(needle, at + 1)) ++n;
  return n;
}

struct Row {
  std::string_view start_line;
  std::vector<std::string_view> fields;
  bool websocket;
};

TEST(WebSocketUpgradeTest, RecognitionTable) {
  const std::vector<Row> rows = {
      {"GET /ws HTTP/1.1", {"Host: a", "Upgrade: websocket", "Connection: Upgrade"}, true},
      {"GET /ws HTTP/1.1", {"Host: a", "Upgrade: WebSocket", "Connection: keep-alive, upgrade"}, true},
      {"GET /ws HTTP/1.1", {"Host: a", "Upgrade: h2c, websocket", "Connection: UPGRADE"}, true},
      {"GET /ws HTTP/1.1", {"Host: a", "Upgrade: h2c", "Upgrade: websocket", "Connection: upgrade"}, true},
      {"GET /ws HTTP/1.1", {"Host: a", "Upgrade: websocket", "Connection: keep-alive", "Connection: upgrade"}, true},
      {"GET /ws HTTP/1.1", {"Host: a", "Upgrade: websocket", "Connection: upgrade", "Content-Length: 0"}, true},
      // A higher HTTP/1 minor version is handled as 1.1.
      {"GET /ws HTTP/1.2", {"Host: a", "Upgrade: websocket", "Connection: upgrade"}, true},
      // Not a WebSocket handshake: its Upgrade is dropped as hop-by-hop.
      {"GET /ws HTTP/1.1", {"Host: a", "Upgrade: websocket/13", "Connection: upgrade"}, false},
      {"GET /ws HTTP/1.1", {"Host: a", "Upgrade: h2c", "Connection: upgrade"}, false},
      {"GET /ws HTTP/1.1", {"Host: a", "Upgrade: websocket"}, false},
      {"GET /ws HTTP/1.1", {"Host: a", "Upgrade: websocket", "Connection: keep-alive"}, false},
      {"GET /ws HTTP/1.1", {"Host: a", "Upgrade: websocket", "Connection: upgraded"}, false},
      {"GET /ws HTTP/1.1", {"Host: a", "Connection: upgrade"}, false},
      {"GET /ws HTTP/1.1", {"Host: a", "X-Upgrade: websocket", "Connection: upgrade"}, false},
      {"POST /ws HTTP/1.1", {"Host: a", "Upgrade: websocket", "Connection: upgrade"}, false},
      {"get /ws HTTP/1.1", {"Host: a", "Upgrade: websocket", "Connection: upgrade"}, false},
      {"HEAD /ws HTTP/1.1", {"Host: a", "Upgrade: websocket", "Connection: upgrade"}, false},
      // RFC 9110 7.8: an HTTP/1.0 request's Upgrade is ignored.
      {"GET /ws HTTP/1.0", {"Host: a", "Upgrade: websocket", "Connection: upgrade"}, false},
      // A body would leave the tunnel's first byte ambiguous.
      {"GET /ws HTTP/1.1", {"Host: a", "Upgrade: websocket", "Connection: upgrade", "Content-Length: 3"}, false},
      {"GET /ws HTTP/1.1", {"Host: a", "Upgrade: websocket", "Connection: upgrade", "Transfer-Encoding: chunked"}, false},
  };
  for (const Row& row : rows) {
    const std::string head = block(row.start_line, row.fields);
    const RequestCheck check = check_request_head(head);
    ASSERT_EQ(check.status, 0) << head << check.reason;
    EXPECT_EQ(check.websocket, row.websocket) << head;
  }
}

std::string upstream_head_of(const std::string& head) {
  const RequestCheck check = check_request_head(head);
  EXPECT_EQ(check.status, 0) << check.reason;
  UpstreamRequestRewrite rw;
  rw.client_ip = "192.0.2.10";
  rw.proto = "http";
  rw.chunked = check.chunked;
  std::string out;
  write_upstream_request(head, check, rw, out);
  return out;
}

TEST(WebSocketUpgradeTest, UpstreamHeadCarriesTheHandshake) {
  const std::string out = upstream_head_of(block("GET /chat HTTP/1.1",
                                                 {"Host: a", "Upgrade: WebSocket", "Connection: keep-alive, Upgrade",
                                                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                                                  "Sec-WebSocket-Version: 13", "Keep-Alive: timeout=5"}));
  EXPECT_EQ(out.rfind("GET /chat HTTP/1.1\r\n", 0), 0u) << out;
  EXPECT_EQ(lines_of(out, "Upgrade: WebSocket"), 1u) << out;  // as the client sent it
  EXPECT_EQ(lines_of(out, "Connection: upgrade"), 1u) << out;
  EXPECT_EQ(out.find("Connection: keep-alive"), std::string::npos) << out;
  EXPECT_EQ(out.find("Keep-Alive"), std::string::npos) << out;
  EXPECT_EQ(lines_of(out, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="), 1u) << out;
  EXPECT_EQ(lines_of(out, "Sec-WebSocket-Version: 13"), 1u) << out;
  EXPECT_EQ(lines_of(out, "Via: 1.1 canaryd"), 1u) << out;
  // A check of our own output takes it as the same handshake.
  EXPECT_TRUE(check_request_head(out).websocket) << out;
}

TEST(WebSocketUpgradeTest, UpstreamHeadOfAnyOtherUpgradeDropsUpgradeAndConnection) {
  for (const std::string& head :
       {block("GET /x HTTP/1.1", {"Host: a", "Upgrade: h2c", "Connection: Upgrade, HTTP2-Settings",
                                  "HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA"}),
        block("POST /x HTTP/1.1", {"Host: a", "Upgrade: websocket", "Connection: upgrade", "Content-Length: 0"}),
        block("GET /x HTTP/1.0", {"Host: a", "Upgrade: websocket", "Connection: upgrade"})}) {
    const std::string out = upstream_head_of(head);
    EXPECT_EQ(out.find("Upgrade"), std::string::npos) << out;
    EXPECT_EQ(out.find("Connection"), std::string::npos) << out;
    EXPECT_EQ(out.find("HTTP2-Settings"), std::string::npos) << out;
  }
}

TEST(WebSocketUpgradeTest, OnlyA101NamingWebSocketInUpgradeSwitchesToIt) {
  const auto switches = [](std::string_view status_line, const std::vector<std::string_view>& fields) {
    const std::string head = block(status_line, fields);
    const ResponseHead r = parse_response_head(head);
    EXPECT_EQ(r.error, nullptr) << head;
    return switches_to_websocket(head, r);
  };
  EXPECT_TRUE(switches("HTTP/1.1 101 Switching Protocols", {"Upgrade: websocket", "Connection: Upgrade"}));
  EXPECT_TRUE(switches("HTTP/1.1 101 Switching Protocols", {"upgrade: WebSocket", "connection: upgrade"}));
  EXPECT_FALSE(switches("HTTP/1.1 101 Switching Protocols", {"Upgrade: h2c", "Connection: Upgrade"}));
  EXPECT_FALSE(switches("HTTP/1.1 101 Switching Protocols", {"Connection: Upgrade"}));
  EXPECT_FALSE(switches("HTTP/1.1 200 OK", {"Upgrade: websocket", "Content-Length: 0"}));
}

TEST(WebSocketUpgradeTest, ClientGetsThe101WithUpgradeAndOurFields) {
  const std::string head = block("HTTP/1.1 101 Switching Protocols",
                                 {"Upgrade: websocket", "Connection: Upgrade, X-Hop", "X-Hop: 1",
                                  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "Keep-Alive: timeout=5",
                                  "Sec-WebSocket-Protocol: chat"});
  const ResponseHead response = parse_response_head(head);
  ASSERT_EQ(response.error, nullptr);
  ClientResponseRewrite rw;
  rw.set_header = "X-Canary-Set";
  rw.set_name = "canary";
  rw.reason = "weight";
  rw.set_cookie_name = "cid";
  rw.set_cookie_value = "abc";
  rw.connection = ClientResponseRewrite::Connection::Close;  // not used for an upgrade
  rw.upgrade = true;
  std::string out;
  write_client_response(head, response, rw, out);
  EXPECT_EQ(out.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u) << out;
  EXPECT_EQ(lines_of(out, "Upgrade: websocket"), 1u) << out;
  EXPECT_EQ(lines_of(out, "Connection: upgrade"), 1u) << out;
  EXPECT_EQ(out.find("Connection: close"), std::string::npos) << out;
  EXPECT_EQ(out.find("Connection: Upgrade"), std::string::npos) << out;
  EXPECT_EQ(out.find("Keep-Alive"), std::string::npos) << out;
  EXPECT_EQ(out.find("X-Hop"), std::string::npos) << out;
  EXPECT_EQ(out.find("Content-Length"), std::string::npos) << out;
  EXPECT_EQ(lines_of(out, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), 1u) << out;
  EXPECT_EQ(lines_of(out, "Sec-WebSocket-Protocol: chat"), 1u) << out;
  EXPECT_EQ(lines_of(out, "X-Canary-Set: canary"), 1u) << out;
  EXPECT_EQ(lines_of(out, "X-Canary-Reason: weight"), 1u) << out;
  EXPECT_EQ(lines_of(out, "Via: 1.1 canaryd"), 1u) << out;
  EXPECT_NE(out.find("\r\nSet-Cookie: cid=abc"), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

TEST(WebSocketUpgradeTest, An101WithoutUpgradeRewriteKeepsDroppingUpgrade) {
  // The ordinary response path (a refused handshake's 4xx, say) drops Upgrade as before.
  const std::string head = block("HTTP/1.1 426 Upgrade Required", {"Upgrade: websocket", "Connection: Upgrade",
                                                                   "Content-Length: 0"});
  const ResponseHead response = parse_response_head(head);
  ASSERT_EQ(response.error, nullptr);
  std::string out;
  write_client_response(head, response, ClientResponseRewrite{}, out);
  EXPECT_EQ(out.find("Upgrade: websocket"), std::string::npos) << out;
  EXPECT_EQ(out.find("Connection: upgrade"), std::string::npos) << out;
  EXPECT_EQ(lines_of(out, "Content-Length: 0"), 1u) << out;
}

}  // namespace
}  // namespace canaryd::proxy
