// Unit tests of the HTTP/2 header conversions: an h2 request's fields as the HTTP/1.1 head (and the head
// canaryd then sends upstream), malformed requests, and an HTTP/1.1 response head as h2 fields.
#include "proxy/http/h2_fields.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "proxy/http/head_rewrite.hpp"
#include "proxy/http/request_validator.hpp"

namespace canaryd::proxy {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

const Fields kGet = {{":method", "GET"}, {":scheme", "https"}, {":authority", "example.com"}, {":path", "/a?b=1"}};

std::string head_of(const Fields& fields, bool unknown_length_body = false, H2RequestHead* out = nullptr) {
  H2RequestHead local;
  H2RequestHead& h = out ? *out : local;
  h.reset();
  for (const auto& [n, v] : fields) h.add(n, v);
  return std::string(h.finish(unknown_length_body));
}

Fields with(Fields base, const Fields& more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

TEST(H2RequestHeadTest, WritesTheHttp11Head) {
  struct Row {
    Fields fields;
    bool unknown_length;
    std::string head;
  } rows[] = {
      {kGet, false, "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"},
      // :authority wins over a Host field
      {with(kGet, {{"host", "other"}, {"accept", "*/*"}}), false,
       "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\naccept: */*\r\n\r\n"},
      // without :authority, the Host field is the one
      {{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {"host", "h"}}, false, "GET / HTTP/1.1\r\nhost: h\r\n\r\n"},
      // crumbled cookies joined with "; " (RFC 9113 8.2.3)
      {with(kGet, {{"cookie", "a=1"}, {"x", "y"}, {"cookie", "b=2"}}), false,
       "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nx: y\r\nCookie: a=1; b=2\r\n\r\n"},
      // te: trailers allowed, not forwarded
      {with(kGet, {{"te", "trailers"}}), false, "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"},
      // a body without a length goes chunked; with one, as it is
      {{{":method", "POST"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"}}, true,
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"},
      {{{":method", "POST"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"}, {"content-length", "3"}}, true,
       "POST / HTTP/1.1\r\nHost: h\r\ncontent-length: 3\r\n\r\n"},
  };
  for (const auto& row : rows) EXPECT_EQ(head_of(row.fields, row.unknown_length), row.head);
}

TEST(H2RequestHeadTest, MalformedRequests) {
  const Fields rows[] = {
      with(kGet, {{"connection", "keep-alive"}}),
      with(kGet, {{"transfer-encoding", "chunked"}}),
      with(kGet, {{"keep-alive", "5"}}),
      with(kGet, {{"upgrade", "websocket"}}),
      with(kGet, {{"proxy-connection", "close"}}),
      with(kGet, {{"te", "gzip"}}),
      with(kGet, {{"x", "1"}, {":path", "/late"}}),      // pseudo-field after a regular one
      with(kGet, {{":path", "/again"}}),                  // repeated
      with(kGet, {{":protocol", "websocket"}}),           // unknown here
      {{":scheme", "http"}, {":path", "/"}},              // no :method
      {{":method", "GET"}, {":authority", "h"}},          // no :path, :scheme
      {{":method", "CONNECT"}, {":authority", "h:443"}},  // not supported
  };
  for (const auto& fields : rows) {
    H2RequestHead h;
    EXPECT_EQ(head_of(fields, false, &h), "") << fields.back().first;
    EXPECT_TRUE(h.malformed());
  }
}

TEST(H2RequestHeadTest, CountsTheListSizeAsSettingsDo) {
  H2RequestHead h;
  head_of(with(kGet, {{"abc", "12345"}}), false, &h);
  std::size_t expected = 0;
  for (const auto& [n, v] : with(kGet, {{"abc", "12345"}})) expected += n.size() + v.size() + 32;
  EXPECT_EQ(h.list_size(), expected);
}

TEST(H2RequestHeadTest, TheUpstreamHeadOfAnH2Request) {
  const std::string head = head_of(with(kGet, {{"x-forwarded-for", "10.0.0.1"}, {"x-canary", "always"},
                                               {"via", "1.1 edge"}, {"cookie", "a=1"}, {"cookie", "b=2"}}));
  const RequestCheck check = check_request_head(head, "X-Canary");
  ASSERT_EQ(check.status, 0) << check.reason;
  EXPECT_EQ(check.override_value, "always");
  std::string out;
  write_upstream_request(head, check, {"192.0.2.7", "https", "X-Canary", {}, false, kViaEntryHttp2}, out);
  EXPECT_EQ(out,
            "GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nCookie: a=1; b=2\r\n"
            "X-Forwarded-For: 10.0.0.1, 192.0.2.7\r\nX-Forwarded-Proto: https\r\nVia: 1.1 edge, 2 canaryd\r\n\r\n");
}

TEST(H2ResponseFieldsTest, LowerCasesAndDropsConnectionFields) {
  std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
      "Transfer-Encoding: chunked\r\nVia: 1.1 canaryd\r\nX-Canary-Set: canary\r\nSet-Cookie: cd=1; Path=/\r\n"
      "Upgrade: h2c\r\nContent-Length:  12 \r\n\r\n";
  std::vector<H2Field> out;
  h2_response_fields(head, out);
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& f : out) got.emplace_back(f.name, f.value);
  const std::vector<std::pair<std::string, std::string>> expected = {{"content-type", "text/plain"},
                                                                     {"via", "1.1 canaryd"},
                                                                     {"x-canary-set", "canary"},
                                                                     {"set-cookie", "cd=1; Path=/"},
                                                                     {"content-length", "12"}};
  EXPECT_EQ(got, expected);
}

TEST(H2ResponseFieldsTest, SkipsLinesWithoutColonAndDropsUpperCaseConnectionFields) {
  std::string head =
      "HTTP/1.1 204 No Content\r\nTE: trailers\r\nno colon here\r\nX-Set-Abcd:\tv \r\nTRANSFER-ENCODING: chunked\r\n"
      "Proxy-Connection: close\r\nUpgraded: yes\r\n\r\nbody: not a field\r\n";
  std::vector<H2Field> out;
  h2_response_fields(head, out);
  std::vector<std::pair<std::string, std::string>> got;
  for (const auto& f : out) got.emplace_back(f.name, f.value);
  const std::vector<std::pair<std::string, std::string>> expected = {{"x-set-abcd", "v"}, {"upgraded", "yes"}};
  EXPECT_EQ(got, expected);
  EXPECT_TRUE(h2_connection_specific("keep-alive"));
  EXPECT_TRUE(h2_connection_specific("te"));
  EXPECT_FALSE(h2_connection_specific("trailer"));  // a hop-by-hop field, but not one RFC 9113 8.2.2 names
  EXPECT_FALSE(h2_connection_specific("x-set-abcd"));
}

}  // namespace
}  // namespace canaryd::proxy
