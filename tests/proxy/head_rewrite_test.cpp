// Unit tests of the head rewrite both ways: hop-by-hop and Connection-named fields dropped, forwarding
// fields, Via, request-line and Host forms, the override field, response framing fields.
#include "proxy/http/head_rewrite.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/http/http_text.hpp"
#include "proxy/http/request_validator.hpp"
#include "proxy/http/response_head.hpp"

namespace canaryd::proxy {
namespace {

using FieldList = std::vector<std::pair<std::string, std::string>>;

// A head as written: its start line and every field, in order, as (name as written, value).
struct Head {
  std::string start_line;
  FieldList fields;
  std::string error;  ///< non-empty when the written head is not well-formed
};

// Parses a head back, strictly: CRLF line ends only, every field line "name: value" (the form the
// writers use), the empty line last with nothing after it.
Head parse_written(std::string_view raw) {
  Head h;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) h.error = "bare LF";
    if (raw[i] == '\r' && (i + 1 >= raw.size() || raw[i + 1] != '\n')) h.error = "bare CR";
  }
  if (!h.error.empty()) return h;
  const std::size_t eol = raw.find("\r\n");
  if (eol == std::string_view::npos) {
    h.error = "no start line";
    return h;
  }
  h.start_line = std::string(raw.substr(0, eol));
  std::size_t pos = eol + 2;
  for (;;) {
    const std::size_t end = raw.find("\r\n", pos);
    if (end == std::string_view::npos) {
      h.error = "no empty line";
      return h;
    }
    if (end == pos) {
      if (end + 2 != raw.size()) h.error = "bytes after the empty line";
      return h;
    }
    const std::string_view line = raw.substr(pos, end - pos);
    pos = end + 2;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || line.substr(colon + 1, 1) != " ") {
      h.error = "field line not in the form \"name: value\": " + std::string(line);
      return h;
    }
    if (!http_text::is_token(line.substr(0, colon))) {
      h.error = "field name not a token: " + std::string(line);
      return h;
    }
    h.fields.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 2)));
  }
}

// Every value of `name` (any case), in order.
std::vector<std::string> values_of(const Head& h, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : h.fields)
    if (http_text::iequals(n, name)) out.push_back(v);
  return out;
}

std::size_t count_of(const Head& h, std::string_view name) { return values_of(h, name).size(); }

// The one value of `name`; a failure when there is not exactly one.
std::string value_of(const Head& h, std::string_view name) {
  const auto values = values_of(h, name);
  EXPECT_EQ(values.size(), 1u) << "occurrences of " << name;
  return values.empty() ? std::string("<absent>") : values.front();
}

// The fields, in order, without those named (any case).
FieldList without(const Head& h, const std::vector<std::string_view>& names) {
  FieldList out;
  for (const auto& field : h.fields) {
    bool drop = false;
    for (std::string_view n : names) drop = drop || http_text::iequals(field.first, n);
    if (!drop) out.push_back(field);
  }
  return out;
}

// The fields write_upstream_request adds or sets itself.
const std::vector<std::string_view> kAdded = {"X-Forwarded-For", "X-Forwarded-Proto", "Via",
                                                            "Content-Length", "Transfer-Encoding"};

std::string request_block(std::string_view request_line, const FieldList& fields) {
  std::string out(request_line);
  out += "\r\n";
  for (const auto& [name, value] : fields) out += name + ": " + value + "\r\n";
  out += "\r\n";
  return out;
}

UpstreamRequestRewrite default_rewrite() {
  UpstreamRequestRewrite rw;
  rw.client_ip = "192.0.2.10";
  rw.proto = "http";
  return rw;
}

// What client_session does with an accepted request head: check it (it must be accepted), then write
// the upstream head; the body goes chunked when it came chunked. Returns the written head, parsed.
Head forward_raw(const std::string& block, UpstreamRequestRewrite rw = default_rewrite(), std::string* raw = nullptr) {
  const RequestCheck check = check_request_head(block, rw.override_header);
  EXPECT_EQ(check.status, 0) << check.reason;
  if (check.status != 0) return Head{"", {}, "request rejected"};
  rw.chunked = check.chunked;
  std::string out = "stale bytes from an earlier request\r\n";
  write_upstream_request(block, check, rw, out);
  Head h = parse_written(out);
  EXPECT_EQ(h.error, "") << out;
  if (raw) *raw = out;
  return h;
}

Head forward(std::string_view request_line, const FieldList& fields, UpstreamRequestRewrite rw = default_rewrite()) {
  return forward_raw(request_block(request_line, fields), rw);
}

const FieldList kEndToEnd = {
    {"Host", "example.com"},   {"Accept", "*/*"},          {"Authorization", "Bearer abc"},
    {"Cookie", "a=1"},         {"Content-Type", "text/plain"}, {"Content-Length", "5"},
    {"X-Request-Id", "42"},    {"Cache-Control", "no-cache"},
};

const FieldList kEndToEndWithoutLength = [] {
  FieldList out;
  for (const auto& f : kEndToEnd)
    if (f.first != "Content-Length") out.push_back(f);
  return out;
}();

// --- ported from the Beast-based strip_hop_by_hop / add_forwarding_fields tests --------------------

TEST(HeadRewriteTest, UpstreamDropsEveryStandardHopByHopField) {
  // Transfer-Encoding: chunked is the only coding a request may have; it comes back as ours.
  const FieldList list = {
      {"Host", "example.com"},          {"Connection", "keep-alive"},      {"Keep-Alive", "timeout=5"},
      {"Proxy-Connection", "keep-alive"}, {"TE", "trailers"},               {"Trailer", "X-Checksum"},
      {"Transfer-Encoding", "chunked"}, {"Upgrade", "websocket"},          {"Proxy-Authenticate", "Basic"},
      {"Proxy-Authorization", "Basic Zm9v"},
  };
  const Head h = forward("POST /up HTTP/1.1", list);
  EXPECT_EQ(without(h, kAdded), (FieldList{{"Host", "example.com"}}));
  EXPECT_EQ(values_of(h, "Transfer-Encoding"), std::vector<std::string>{"chunked"});
  for (std::string_view hop : {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade",
                               "Proxy-Authenticate", "Proxy-Authorization"})
    EXPECT_EQ(count_of(h, hop), 0u) << hop;
}

TEST(HeadRewriteTest, UpstreamKeepsEndToEndFieldsInOrderWithTheirValues) {
  FieldList list = kEndToEnd;
  list.insert(list.begin() + 2, {"Connection", "close"});
  list.insert(list.begin() + 4, {"Keep-Alive", "max=3"});
  list.emplace_back("Upgrade", "h2c");
  list.emplace_back("proxy-authorization", "Basic x");  // lowercase name, still hop-by-hop
  const Head h = forward("POST /submit HTTP/1.1", list);
  EXPECT_EQ(without(h, kAdded), kEndToEndWithoutLength);
  EXPECT_EQ(value_of(h, "Content-Length"), "5");
}

TEST(HeadRewriteTest, UpstreamDropsEveryOccurrenceOfAHopByHopField) {
  const Head h = forward("GET / HTTP/1.1", {{"Host", "a"}, {"TE", "trailers"}, {"TE", "deflate"}, {"Upgrade", "a"},
                                            {"upgrade", "b"}, {"KEEP-ALIVE", "1"}, {"keep-alive", "2"}});
  EXPECT_EQ(without(h, kAdded), (FieldList{{"Host", "a"}}));
}

TEST(HeadRewriteTest, UpstreamDropsFieldsNamedInConnection) {
  const Head h = forward("GET / HTTP/1.1", {{"Host", "a"}, {"Connection", "X-Secret, X-Hop"}, {"X-Secret", "s"},
                                            {"X-Hop", "h"}, {"X-Kept", "k"}});
  EXPECT_EQ(without(h, kAdded), (FieldList{{"Host", "a"}, {"X-Kept", "k"}}));
}

TEST(HeadRewriteTest, UpstreamHonoursEveryConnectionField) {
  const Head h = forward("GET / HTTP/1.1", {{"Connection", "X-A"}, {"Host", "a"}, {"X-A", "1"}, {"X-B", "2"},
                                            {"X-C", "3"}, {"Connection", "X-B"}, {"Connection", "keep-alive, X-C"}});
  EXPECT_EQ(without(h, kAdded), (FieldList{{"Host", "a"}}));
}

TEST(HeadRewriteTest, UpstreamParsesConnectionListsWithOwsAndEmptyElements) {
  const Head h = forward("GET / HTTP/1.1", {{"Connection", ",  X-A ,\tX-B\t,, ,X-C,"},
                                            {"X-A", "1"},
                                            {"X-B", "2"},
                                            {"X-C", "3"},
                                            {"X-AB", "prefix-like, kept"},
                                            {"X-", "kept"},
                                            {"Host", "a"}});
  EXPECT_EQ(without(h, kAdded), (FieldList{{"X-AB", "prefix-like, kept"}, {"X-", "kept"}, {"Host", "a"}}));
}

TEST(HeadRewriteTest, UpstreamMatchesConnectionTokensCaseInsensitively) {
  const Head h = forward("GET / HTTP/1.1", {{"connection", "x-custom, X-OTHER"},
                                            {"X-CUSTOM", "1"},
                                            {"X-Custom", "2"},
                                            {"x-other", "3"},
                                            {"Host", "a"}});
  EXPECT_EQ(without(h, kAdded), (FieldList{{"Host", "a"}}));
}

// A request naming `n` fields X-N0.. in Connection (three names a line, close and keep-alive mixed in),
// each of them present, with kept fields between them.
FieldList naming_fields(int n) {
  FieldList fields{{"Host", "a"}};
  std::string line;
  for (int i = 0; i < n; ++i) {
    if (!line.empty()) line += ", ";
    line += "X-N" + std::to_string(i);
    if (i % 3 == 2 || i == n - 1) {
      fields.emplace_back("Connection", i % 2 ? "keep-alive, " + line : line + ", close");
      line.clear();
    }
  }
  for (int i = 0; i < n; ++i) {
    fields.emplace_back(i % 2 ? "x-n" + std::to_string(i) : "X-N" + std::to_string(i), "named");
    fields.emplace_back("X-Kept" + std::to_string(i), "kept");
  }
  return fields;
}

FieldList kept_fields(int n) {
  FieldList fields{{"Host", "a"}};
  for (int i = 0; i < n; ++i) fields.emplace_back("X-Kept" + std::to_string(i), "kept");
  return fields;
}

TEST(HeadRewriteTest, UpstreamDropsEveryNamedFieldHoweverManyConnectionNames) {
  // The writer remembers a few names and looks the rest up in the block: both ways must agree.
  for (int n : {1, 2, 7, 8, 9, 12, 30}) {
    SCOPED_TRACE(n);
    const Head h = forward("GET / HTTP/1.1", naming_fields(n));
    EXPECT_EQ(without(h, kAdded), kept_fields(n));
  }
}

TEST(HeadRewriteTest, ConnectionNamingViaAmongManyNamesDropsTheClientsVia) {
  FieldList fields = naming_fields(10);
  fields.emplace_back("Connection", "Via, X-Forwarded-For");
  fields.emplace_back("Via", "1.1 spoofed");
  fields.emplace_back("X-Forwarded-For", "10.9.9.9");
  const Head h = forward("GET / HTTP/1.1", fields);
  EXPECT_EQ(value_of(h, "Via"), "1.1 canaryd");
  EXPECT_EQ(value_of(h, "X-Forwarded-For"), "192.0.2.10");
  EXPECT_EQ(without(h, kAdded), kept_fields(10));
}

TEST(HeadRewriteTest, UpstreamWithoutConnectionLeavesEndToEndFieldsAlone) {
  const Head h = forward("POST /submit HTTP/1.1", kEndToEnd);
  EXPECT_EQ(without(h, kAdded), kEndToEndWithoutLength);
}

TEST(HeadRewriteTest, UpstreamOfConnectionCloseKeepsOtherFields) {
  const Head h = forward("POST / HTTP/1.1", {{"Connection", "close"}, {"Host", "a"}, {"Content-Length", "0"}});
  EXPECT_EQ(without(h, kAdded), (FieldList{{"Host", "a"}}));
  EXPECT_EQ(value_of(h, "Content-Length"), "0");
  EXPECT_EQ(count_of(h, "Connection"), 0u);
}

TEST(HeadRewriteTest, ForwardingFieldsAreAddedWhenAbsent) {
  const Head h = forward("GET / HTTP/1.1", {{"Host", "a"}});
  EXPECT_EQ(value_of(h, "X-Forwarded-For"), "192.0.2.10");
  EXPECT_EQ(value_of(h, "X-Forwarded-Proto"), "http");
  EXPECT_EQ(value_of(h, "Via"), "1.1 canaryd");
  EXPECT_EQ(value_of(h, "Host"), "a");
  EXPECT_EQ(h.fields.size(), 4u) << "no Content-Length or Transfer-Encoding for a request without a body";
}

TEST(HeadRewriteTest, ForwardedForIsAppendedToTheExistingValue) {
  const Head h = forward("GET / HTTP/1.1", {{"Host", "a"}, {"X-Forwarded-For", "203.0.113.7"}});
  EXPECT_EQ(value_of(h, "X-Forwarded-For"), "203.0.113.7, 192.0.2.10");
}

TEST(HeadRewriteTest, ForwardedForJoinsSeveralFieldsInOrder) {
  auto rw = default_rewrite();
  rw.proto = "https";
  const Head h = forward("GET / HTTP/1.1",
                         {{"X-Forwarded-For", "198.51.100.1, 198.51.100.2"},
                          {"Host", "a"},
                          {"x-forwarded-for", "198.51.100.3"},
                          {"X-Forwarded-For", "198.51.100.4"}},
                         rw);
  EXPECT_EQ(value_of(h, "X-Forwarded-For"), "198.51.100.1, 198.51.100.2, 198.51.100.3, 198.51.100.4, 192.0.2.10");
  EXPECT_EQ(value_of(h, "X-Forwarded-Proto"), "https");
}

TEST(HeadRewriteTest, EmptyForwardedForIsNotJoinedAsAnEmptyElement) {
  const Head h =
      forward("GET / HTTP/1.1", {{"Host", "a"}, {"X-Forwarded-For", ""}, {"X-Forwarded-For", "198.51.100.1"}});
  EXPECT_EQ(value_of(h, "X-Forwarded-For"), "198.51.100.1, 192.0.2.10");
}

TEST(HeadRewriteTest, ForwardedForTakesAnIpv6ClientAsGiven) {
  auto rw = default_rewrite();
  rw.client_ip = "2001:db8::1";
  const Head h = forward("GET / HTTP/1.1", {{"Host", "a"}}, rw);
  EXPECT_EQ(value_of(h, "X-Forwarded-For"), "2001:db8::1");
}

TEST(HeadRewriteTest, ForwardedProtoIsReplacedNotAppended) {
  const Head h =
      forward("GET / HTTP/1.1", {{"X-Forwarded-Proto", "https"}, {"Host", "a"}, {"x-forwarded-proto", "ftp"}});
  EXPECT_EQ(value_of(h, "X-Forwarded-Proto"), "http");
}

TEST(HeadRewriteTest, ViaIsAppendedToExistingEntries) {
  const Head h = forward("GET / HTTP/1.1", {{"Via", "1.0 fred, 1.1 p.example"}, {"Host", "a"}, {"via", "1.1 nginx"}});
  EXPECT_EQ(value_of(h, "Via"), "1.0 fred, 1.1 p.example, 1.1 nginx, 1.1 canaryd");
}

TEST(HeadRewriteTest, ForwardingLeavesOtherFieldsUntouched) {
  const Head h = forward("POST /submit HTTP/1.1", kEndToEnd);
  EXPECT_EQ(without(h, {"X-Forwarded-For", "X-Forwarded-Proto", "Via", "Content-Length"}), kEndToEndWithoutLength);
  EXPECT_EQ(value_of(h, "Content-Length"), "5");
}

TEST(HeadRewriteTest, ConnectionNamingForwardingFieldsDropsTheClientsCopiesOnly) {
  // A client cannot make the proxy drop its own entries by naming the fields in Connection: the
  // client's copies go, ours are still added.
  const Head h = forward("GET / HTTP/1.1", {{"Host", "a"},
                                            {"Connection", "X-Forwarded-For, Via, X-Forwarded-Proto"},
                                            {"X-Forwarded-For", "10.9.9.9"},
                                            {"Via", "1.1 spoofed"},
                                            {"X-Forwarded-Proto", "https"}});
  EXPECT_EQ(value_of(h, "X-Forwarded-For"), "192.0.2.10");
  EXPECT_EQ(value_of(h, "Via"), "1.1 canaryd");
  EXPECT_EQ(value_of(h, "X-Forwarded-Proto"), "http");
  EXPECT_EQ(count_of(h, "Connection"), 0u);
}

// --- the request line and Host -----------------------------------------------------------------------

TEST(HeadRewriteTest, RequestLineKeepsMethodAndOriginFormTarget) {
  for (std::string_view line : {"GET /a/b?c=d&e=f HTTP/1.1", "DELETE /x HTTP/1.1", "PATCH /p HTTP/1.1",
                                "OPTIONS * HTTP/1.1", "get /lower HTTP/1.1"}) {
    SCOPED_TRACE(line);
    const Head h = forward(line, {{"Host", "a"}});
    EXPECT_EQ(h.start_line, line);
  }
}

TEST(HeadRewriteTest, AbsoluteFormBecomesOriginFormWithHostFromTheAuthority) {
  const Head h = forward("GET http://origin.example:8080/p/q?x=1 HTTP/1.1",
                         {{"Host", "received.example"}, {"Accept", "*/*"}});
  EXPECT_EQ(h.start_line, "GET /p/q?x=1 HTTP/1.1");
  EXPECT_EQ(values_of(h, "Host"), std::vector<std::string>{"origin.example:8080"}) << "the received Host is dropped";
  EXPECT_EQ(without(h, {"Host", "X-Forwarded-For", "X-Forwarded-Proto", "Via"}), (FieldList{{"Accept", "*/*"}}));
}

TEST(HeadRewriteTest, AbsoluteFormDropsEveryReceivedHostSpelling) {
  // HTTP/1.0 may come without Host, or with one in any case; the authority is the one Host sent.
  const Head h = forward("GET HTTPS://Origin.Example/ HTTP/1.0", {{"host", "received.example"}});
  EXPECT_EQ(h.start_line, "GET / HTTP/1.1");
  EXPECT_EQ(values_of(h, "Host"), std::vector<std::string>{"Origin.Example"});
}

TEST(HeadRewriteTest, AbsoluteFormWithoutPathGetsALeadingSlash) {
  struct Case {
    std::string_view line;
    std::string_view expected;
  };
  for (const Case c : {Case{"GET http://a HTTP/1.1", "GET / HTTP/1.1"},
                       Case{"GET http://a?q=1 HTTP/1.1", "GET /?q=1 HTTP/1.1"},
                       Case{"GET http://a:81?q=1&r HTTP/1.1", "GET /?q=1&r HTTP/1.1"},
                       Case{"GET http://a/ HTTP/1.1", "GET / HTTP/1.1"},
                       Case{"GET http://a/?q HTTP/1.1", "GET /?q HTTP/1.1"}}) {
    SCOPED_TRACE(c.line);
    const Head h = forward(c.line, {{"Host", "a"}});
    EXPECT_EQ(h.start_line, c.expected);
  }
  const Head h = forward("GET http://a:81?q=1 HTTP/1.1", {{"Host", "b"}});
  EXPECT_EQ(value_of(h, "Host"), "a:81");
}

TEST(HeadRewriteTest, AbsoluteFormOptionsWithoutPathAsksTheServerItself) {
  // RFC 9112 3.2.4: "OPTIONS http://a" is "OPTIONS *" in origin form; with a path it stays a path.
  EXPECT_EQ(forward("OPTIONS http://a HTTP/1.1", {{"Host", "a"}}).start_line, "OPTIONS * HTTP/1.1");
  EXPECT_EQ(forward("OPTIONS http://a/x HTTP/1.1", {{"Host", "a"}}).start_line, "OPTIONS /x HTTP/1.1");
  EXPECT_EQ(forward("GET http://a HTTP/1.1", {{"Host", "a"}}).start_line, "GET / HTTP/1.1");
}

TEST(HeadRewriteTest, AbsoluteFormWithoutHostOnHttp10UsesTheAuthorityNotTheFallback) {
  auto rw = default_rewrite();
  rw.host_if_missing = "10.0.0.5:8080";
  const Head h = forward("GET http://origin.example/x HTTP/1.0", {}, rw);
  EXPECT_EQ(h.start_line, "GET /x HTTP/1.1");
  EXPECT_EQ(values_of(h, "Host"), std::vector<std::string>{"origin.example"});
}

TEST(HeadRewriteTest, Http10WithoutHostGetsTheFallbackHost) {
  auto rw = default_rewrite();
  rw.host_if_missing = "10.0.0.5:8080";
  const Head h = forward("GET /old HTTP/1.0", {{"Accept", "*/*"}}, rw);
  EXPECT_EQ(values_of(h, "Host"), std::vector<std::string>{"10.0.0.5:8080"});
}

TEST(HeadRewriteTest, Http10WithHostKeepsItsOwn) {
  auto rw = default_rewrite();
  rw.host_if_missing = "10.0.0.5:8080";
  const Head h = forward("GET /old HTTP/1.0", {{"Host", "mine.example"}}, rw);
  EXPECT_EQ(values_of(h, "Host"), std::vector<std::string>{"mine.example"});
}

TEST(HeadRewriteTest, Http11KeepsItsHostAndIgnoresTheFallback) {
  auto rw = default_rewrite();
  rw.host_if_missing = "10.0.0.5:8080";
  const Head h = forward("GET / HTTP/1.1", {{"hOsT", "mine.example"}}, rw);
  EXPECT_EQ(h.fields.front(), (std::pair<std::string, std::string>{"hOsT", "mine.example"}));
  EXPECT_EQ(count_of(h, "Host"), 1u);
}

TEST(HeadRewriteTest, Http10RequestGoesUpstreamAsHttp11WithA10ViaEntry) {
  const Head h = forward("POST /form HTTP/1.0", {{"Host", "a"}, {"Via", "1.1 edge"}, {"Content-Length", "3"}});
  EXPECT_EQ(h.start_line, "POST /form HTTP/1.1");
  EXPECT_EQ(value_of(h, "Via"), "1.1 edge, 1.0 canaryd");
  EXPECT_EQ(value_of(h, "Content-Length"), "3");
}

TEST(HeadRewriteTest, Http12RequestIsHandledAs11ForVia) {
  const Head h = forward("GET / HTTP/1.2", {{"Host", "a"}});
  EXPECT_EQ(h.start_line, "GET / HTTP/1.1");
  EXPECT_EQ(value_of(h, "Via"), "1.1 canaryd");
}

// --- fields the proxy consumes -------------------------------------------------------------------------

TEST(HeadRewriteTest, OverrideFieldIsRemovedInEveryOccurrenceAndCase) {
  auto rw = default_rewrite();
  rw.override_header = "X-Canary";
  const Head h = forward("GET / HTTP/1.1",
                         {{"Host", "a"}, {"X-Canary", "always"}, {"x-canary", "never"}, {"X-CANARY", "x"},
                          {"X-Canary-Other", "kept"}, {"X-Canar", "kept too"}},
                         rw);
  EXPECT_EQ(without(h, kAdded), (FieldList{{"Host", "a"}, {"X-Canary-Other", "kept"}, {"X-Canar", "kept too"}}));
}

TEST(HeadRewriteTest, OverrideFieldIsRemovedWhateverTheLengthOfItsName) {
  // Names as long as the fields the writer looks at by length (Via, Host, Expect, Content-Length,
  // X-Forwarded-For, X-Forwarded-Proto) and others: the override field goes, the namesakes by length stay.
  for (std::string_view name : {"X-R", "X-Rt", "X-Cnry", "X-Canary-Route", "X-Canary-Select", "X-Canary-Override",
                                "X-Canary", "Canary-Routing-Override-Header"}) {
    SCOPED_TRACE(name);
    auto rw = default_rewrite();
    rw.override_header = name;
    std::string lower(name);
    for (char& c : lower) c = http_text::lower(c);
    const std::string same_length(name.size(), 'Z');
    const Head h =
        forward("GET / HTTP/1.1",
                {{"Host", "a"}, {std::string(name), "always"}, {same_length, "kept"}, {lower, "never"}}, rw);
    EXPECT_EQ(without(h, kAdded), (FieldList{{"Host", "a"}, {same_length, "kept"}}));
  }
}

TEST(HeadRewriteTest, WithoutAnOverrideFieldNothingIsRemovedForIt) {
  const Head h = forward("GET / HTTP/1.1", {{"Host", "a"}, {"X-Canary", "always"}});
  EXPECT_EQ(without(h, kAdded), (FieldList{{"Host", "a"}, {"X-Canary", "always"}}));
}

TEST(HeadRewriteTest, ExpectIsNotForwarded) {
  const Head h = forward("POST /up HTTP/1.1", {{"Host", "a"}, {"Expect", "100-continue"}, {"Content-Length", "5"},
                                               {"X-After", "1"}});
  EXPECT_EQ(count_of(h, "Expect"), 0u);
  EXPECT_EQ(without(h, kAdded), (FieldList{{"Host", "a"}, {"X-After", "1"}}));
  EXPECT_EQ(value_of(h, "Content-Length"), "5");
}

TEST(HeadRewriteTest, ExpectIsNotForwardedInAnyCase) {
  const Head h = forward("POST /up HTTP/1.1", {{"Host", "a"}, {"expect", "100-continue"}, {"EXPECT", "x"},
                                               {"Content-Length", "1"}});
  EXPECT_EQ(count_of(h, "Expect"), 0u);
}

// --- framing ---------------------------------------------------------------------------------------------

TEST(HeadRewriteTest, DuplicateContentLengthsCollapseToOne) {
  const Head h = forward("POST / HTTP/1.1", {{"Content-Length", "5"}, {"Host", "a"}, {"content-length", "05"},
                                             {"CONTENT-LENGTH", "5"}});
  EXPECT_EQ(values_of(h, "Content-Length"), std::vector<std::string>{"5"});
}

TEST(HeadRewriteTest, LargestContentLengthIsWrittenInFull) {
  const Head h = forward("PUT / HTTP/1.1", {{"Host", "a"}, {"Content-Length", "18446744073709551615"}});
  EXPECT_EQ(value_of(h, "Content-Length"), "18446744073709551615");
}

TEST(HeadRewriteTest, ContentLengthWithLeadingZerosIsWrittenAsTheNumber) {
  const Head h = forward("PUT / HTTP/1.1", {{"Host", "a"}, {"Content-Length", "0010"}});
  EXPECT_EQ(value_of(h, "Content-Length"), "10");
}

TEST(HeadRewriteTest, ChunkedRequestGetsOneTransferEncodingAndNoContentLength) {
  for (std::string_view coding : {"chunked", "CHUNKED", "Chunked"}) {
    SCOPED_TRACE(coding);
    const Head h = forward("POST / HTTP/1.1", {{"Host", "a"}, {"transfer-encoding", std::string(coding)}});
    EXPECT_EQ(values_of(h, "Transfer-Encoding"), std::vector<std::string>{"chunked"});
    EXPECT_EQ(count_of(h, "Content-Length"), 0u);
    const auto te = std::find_if(h.fields.begin(), h.fields.end(),
                                 [](const auto& f) { return http_text::iequals(f.first, "Transfer-Encoding"); });
    ASSERT_NE(te, h.fields.end());
    EXPECT_EQ(te->first, "Transfer-Encoding") << "ours, not the client's spelling";
  }
}

TEST(HeadRewriteTest, ChunkedRewriteWinsOverAContentLength) {
  // The body may be re-framed as chunked by the caller: then no Content-Length goes with it.
  const std::string block = request_block("POST / HTTP/1.1", {{"Host", "a"}, {"Content-Length", "5"}});
  const RequestCheck check = check_request_head(block);
  ASSERT_EQ(check.status, 0) << check.reason;
  auto rw = default_rewrite();
  rw.chunked = true;
  std::string out;
  write_upstream_request(block, check, rw, out);
  const Head h = parse_written(out);
  ASSERT_EQ(h.error, "") << out;
  EXPECT_EQ(values_of(h, "Transfer-Encoding"), std::vector<std::string>{"chunked"});
  EXPECT_EQ(count_of(h, "Content-Length"), 0u);
}

TEST(HeadRewriteTest, RequestWithoutBodyGetsNoFraming) {
  const Head h = forward("GET / HTTP/1.1", {{"Host", "a"}});
  EXPECT_EQ(count_of(h, "Content-Length"), 0u);
  EXPECT_EQ(count_of(h, "Transfer-Encoding"), 0u);
}

TEST(HeadRewriteTest, ValuesAreTrimmedAndNamesKeepTheirSpelling) {
  const Head h = forward("GET / HTTP/1.1", {{"Host", "  a"}, {"x-lower", "\tv w\t "}, {"X-Empty", ""},
                                            {"X-Inner", "a  ,  b"}});
  EXPECT_EQ(without(h, kAdded),
            (FieldList{{"Host", "a"}, {"x-lower", "v w"}, {"X-Empty", ""}, {"X-Inner", "a  ,  b"}}));
}

TEST(HeadRewriteTest, UpstreamHeadIsExactlyTheExpectedBytes) {
  // One exact example, so that a change in the bytes (not only in the fields) shows up.
  std::string raw;
  forward_raw(request_block("POST /p?q HTTP/1.1", {{"Host", "a"}, {"Connection", "keep-alive"},
                                                   {"Content-Length", "2"}, {"X-A", "b"}}),
              default_rewrite(), &raw);
  EXPECT_EQ(raw,
            "POST /p?q HTTP/1.1\r\n"
            "Host: a\r\n"
            "X-A: b\r\n"
            "X-Forwarded-For: 192.0.2.10\r\n"
            "X-Forwarded-Proto: http\r\n"
            "Via: 1.1 canaryd\r\n"
            "Content-Length: 2\r\n"
            "\r\n");
}

TEST(HeadRewriteTest, TheOutputStringIsReplacedNotAppendedTo) {
  std::string first;
  std::string second;
  forward_raw(request_block("GET /1 HTTP/1.1", {{"Host", "a"}, {"X-Long", std::string(500, 'x')}}),
              default_rewrite(), &first);
  const std::string block = request_block("GET /2 HTTP/1.1", {{"Host", "b"}});
  const RequestCheck check = check_request_head(block);
  ASSERT_EQ(check.status, 0);
  std::string out = first;
  write_upstream_request(block, check, default_rewrite(), out);
  forward_raw(block, default_rewrite(), &second);
  EXPECT_EQ(out, second);
}

// Found while porting: a field named in Connection is dropped, and Host is no exception; the fallback
// Host is then not added either, because the request *had* a Host. The upstream gets an HTTP/1.1
// request without Host (RFC 9112 3.2: a client MUST send Host in every HTTP/1.1 request). The Beast
// code this replaces re-added the endpoint's name for HTTP/1.0 after stripping, so for HTTP/1.0 this is
// a regression. Disabled until the product is fixed (run with --gtest_also_run_disabled_tests).
TEST(HeadRewriteTest, UpstreamRequestAlwaysHasOneHostEvenWhenConnectionNamesIt) {
  auto rw = default_rewrite();
  rw.host_if_missing = "10.0.0.5:8080";
  const Head h10 = forward("GET / HTTP/1.0", {{"Host", "a"}, {"Connection", "Host"}}, rw);
  EXPECT_EQ(count_of(h10, "Host"), 1u) << "HTTP/1.0 client naming Host in Connection";
  const Head h11 = forward("GET / HTTP/1.1", {{"Host", "a"}, {"Connection", "host"}}, rw);
  EXPECT_EQ(count_of(h11, "Host"), 1u) << "HTTP/1.1 client naming Host in Connection";
}

// --- responses to the client --------------------------------------------------------------------------

std::string response_block(std::string_view status_line, const FieldList& fields) {
  return request_block(status_line, fields);
}

// Parses the upstream's head (it must be valid) and writes the client's; returns the written head.
Head to_client(const std::string& block, const ClientResponseRewrite& rw, std::string* raw = nullptr) {
  const ResponseHead response = parse_response_head(block);
  EXPECT_EQ(response.error, nullptr) << response.error;
  if (response.error) return Head{"", {}, "response rejected"};
  std::string out = "stale bytes\r\n";
  write_client_response(block, response, rw, out);
  Head h = parse_written(out);
  EXPECT_EQ(h.error, "") << out;
  if (raw) *raw = out;
  return h;
}

ClientResponseRewrite set_rewrite(std::string_view set_name = "canary") {
  ClientResponseRewrite rw;
  rw.set_header = "X-Canary-Set";
  rw.set_name = set_name;
  return rw;
}

const FieldList kNginxFields = {
    {"Server", "nginx/1.22.1"},
    {"Date", "Mon, 01 Jan 2024 00:00:00 GMT"},
    {"Content-Type", "text/html"},
    {"Content-Length", "615"},
    {"Last-Modified", "Tue, 13 Jun 2023 15:08:10 GMT"},
    {"Connection", "keep-alive"},
    {"ETag", "\"64888a1a-267\""},
    {"Accept-Ranges", "bytes"},
};

const std::vector<std::string_view> kResponseAdded = {"Content-Length", "Via", "X-Canary-Set",
                                                                    "Transfer-Encoding", "Connection"};

TEST(HeadRewriteTest, ClientResponseKeepsEndToEndFieldsInOrder) {
  const Head h = to_client(response_block("HTTP/1.1 200 OK", kNginxFields), set_rewrite());
  EXPECT_EQ(h.start_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(without(h, kResponseAdded), (FieldList{{"Server", "nginx/1.22.1"},
                                                   {"Date", "Mon, 01 Jan 2024 00:00:00 GMT"},
                                                   {"Content-Type", "text/html"},
                                                   {"Last-Modified", "Tue, 13 Jun 2023 15:08:10 GMT"},
                                                   {"ETag", "\"64888a1a-267\""},
                                                   {"Accept-Ranges", "bytes"}}));
  EXPECT_EQ(value_of(h, "Content-Length"), "615");
  EXPECT_EQ(value_of(h, "Via"), "1.1 canaryd");
  EXPECT_EQ(value_of(h, "X-Canary-Set"), "canary");
  EXPECT_EQ(count_of(h, "Connection"), 0u) << "Connection::Default adds none, and the upstream's is dropped";
  EXPECT_EQ(count_of(h, "Transfer-Encoding"), 0u);
}

TEST(HeadRewriteTest, ClientResponseDropsHopByHopAndConnectionNamedFields) {
  const Head h = to_client(response_block("HTTP/1.1 200 OK", {{"Connection", "X-Upstream-Secret, close"},
                                                              {"Keep-Alive", "timeout=5"},
                                                              {"X-Upstream-Secret", "s"},
                                                              {"Proxy-Authenticate", "Basic"},
                                                              {"Trailer", "X-Sum"},
                                                              {"Upgrade", "h2c"},
                                                              {"Proxy-Connection", "keep-alive"},
                                                              {"TE", "trailers"},
                                                              {"Content-Type", "text/plain"},
                                                              {"connection", "X-Other"},
                                                              {"x-other", "o"},
                                                              {"Content-Length", "1"}}),
                           set_rewrite());
  EXPECT_EQ(without(h, kResponseAdded), (FieldList{{"Content-Type", "text/plain"}}));
  EXPECT_EQ(count_of(h, "Connection"), 0u);
  EXPECT_EQ(value_of(h, "Content-Length"), "1");
}

TEST(HeadRewriteTest, ClientResponseDropsEveryNamedFieldHoweverManyConnectionNames) {
  for (int n : {1, 8, 9, 20}) {
    SCOPED_TRACE(n);
    FieldList fields = naming_fields(n);
    fields.erase(fields.begin());  // no Host in a response
    fields.emplace_back("Content-Length", "0");
    FieldList expected = kept_fields(n);
    expected.erase(expected.begin());
    const Head h = to_client(response_block("HTTP/1.1 200 OK", fields), set_rewrite());
    EXPECT_EQ(without(h, kResponseAdded), expected);
  }
}

TEST(HeadRewriteTest, ClientResponseReplacesTheSetFieldInAnyCase) {
  const Head h = to_client(response_block("HTTP/1.1 200 OK", {{"X-Canary-Set", "spoofed"},
                                                              {"Content-Length", "0"},
                                                              {"x-canary-set", "spoofed too"},
                                                              {"X-CANARY-SET", "and again"},
                                                              {"X-Canary-Settings", "kept"}}),
                           set_rewrite("stable"));
  EXPECT_EQ(values_of(h, "X-Canary-Set"), std::vector<std::string>{"stable"});
  EXPECT_EQ(without(h, kResponseAdded), (FieldList{{"X-Canary-Settings", "kept"}}));
}

TEST(HeadRewriteTest, ClientResponseWithoutASetFieldAddsNoneAndKeepsTheUpstreams) {
  ClientResponseRewrite rw;
  const Head h = to_client(response_block("HTTP/1.1 200 OK", {{"X-Canary-Set", "upstream's"}, {"Content-Length", "0"}}),
                           rw);
  EXPECT_EQ(values_of(h, "X-Canary-Set"), std::vector<std::string>{"upstream's"});
}

TEST(HeadRewriteTest, ClientResponseAppendsViaToTheUpstreamsEntries) {
  const Head h = to_client(
      response_block("HTTP/1.1 200 OK", {{"Via", "1.1 a, 1.1 b"}, {"Content-Length", "0"}, {"via", "1.0 c"}}),
      set_rewrite());
  EXPECT_EQ(value_of(h, "Via"), "1.1 a, 1.1 b, 1.0 c, 1.1 canaryd");
}

TEST(HeadRewriteTest, ClientResponseFromHttp10UpstreamSaysSoInVia) {
  // client_session picks the entry from the version the upstream spoke; the status line is ours, 1.1.
  const std::string block = response_block("HTTP/1.0 200 OK", {{"Via", "1.1 lb"}, {"Content-Length", "2"}});
  const ResponseHead response = parse_response_head(block);
  ASSERT_EQ(response.error, nullptr);
  ASSERT_TRUE(response.http10);
  auto rw = set_rewrite();
  rw.via_entry = response.http10 ? kViaEntryHttp10 : kViaEntry;
  const Head h = to_client(block, rw);
  EXPECT_EQ(h.start_line, "HTTP/1.1 200 OK");
  EXPECT_EQ(value_of(h, "Via"), "1.1 lb, 1.0 canaryd");
}

TEST(HeadRewriteTest, ClientResponseContentLengthOnlyWhenNotRechunked) {
  const std::string block = response_block("HTTP/1.1 200 OK", {{"Content-Length", "42"}, {"content-length", "42"}});
  auto rw = set_rewrite();
  Head h = to_client(block, rw);
  EXPECT_EQ(values_of(h, "Content-Length"), std::vector<std::string>{"42"}) << "duplicates collapse";
  EXPECT_EQ(count_of(h, "Transfer-Encoding"), 0u);
  rw.chunked = true;
  h = to_client(block, rw);
  EXPECT_EQ(count_of(h, "Content-Length"), 0u);
  EXPECT_EQ(values_of(h, "Transfer-Encoding"), std::vector<std::string>{"chunked"});
}

TEST(HeadRewriteTest, ClientResponseFromChunkedUpstream) {
  const std::string block =
      response_block("HTTP/1.1 200 OK", {{"Transfer-Encoding", "chunked"}, {"Content-Type", "text/plain"}});
  auto rw = set_rewrite();
  rw.chunked = true;
  Head h = to_client(block, rw);
  EXPECT_EQ(values_of(h, "Transfer-Encoding"), std::vector<std::string>{"chunked"});
  EXPECT_EQ(count_of(h, "Content-Length"), 0u);
  // An HTTP/1.0 client reads until close: no framing field at all.
  rw.chunked = false;
  rw.codings_to_content_encoding = true;
  rw.connection = ClientResponseRewrite::Connection::Close;
  h = to_client(block, rw);
  EXPECT_EQ(count_of(h, "Transfer-Encoding"), 0u);
  EXPECT_EQ(count_of(h, "Content-Length"), 0u);
  EXPECT_EQ(count_of(h, "Content-Encoding"), 0u);
  EXPECT_EQ(values_of(h, "Connection"), std::vector<std::string>{"close"});
}

// The body is relayed with its other transfer codings still applied, so the client must be told of
// them: the old rewrite sent "Transfer-Encoding: chunked" alone, and the client took gzip bytes for the
// body.
TEST(HeadRewriteTest, ClientResponseKeepsTheUpstreamsOtherTransferCodings) {
  auto rw = set_rewrite();
  rw.chunked = true;
  const std::string one =
      response_block("HTTP/1.1 200 OK", {{"Transfer-Encoding", "gzip, chunked"}, {"Content-Type", "text/plain"}});
  EXPECT_EQ(values_of(to_client(one, rw), "Transfer-Encoding"), std::vector<std::string>{"gzip, chunked"});
  const std::string two = response_block(
      "HTTP/1.1 200 OK", {{"Transfer-Encoding", "deflate;x=1 ,gzip"}, {"Transfer-Encoding", "chunked"}});
  EXPECT_EQ(values_of(to_client(two, rw), "Transfer-Encoding"), std::vector<std::string>{"deflate;x=1, gzip, chunked"});
  const std::string identity =
      response_block("HTTP/1.1 200 OK", {{"Transfer-Encoding", "identity, gzip"}, {"Transfer-Encoding", "chunked"}});
  EXPECT_EQ(values_of(to_client(identity, rw), "Transfer-Encoding"), std::vector<std::string>{"gzip, chunked"});
  // Until close with gzip: chunked by canaryd, after the gzip.
  const std::string until_close = response_block("HTTP/1.1 200 OK", {{"Transfer-Encoding", "gzip"}});
  EXPECT_EQ(values_of(to_client(until_close, rw), "Transfer-Encoding"), std::vector<std::string>{"gzip, chunked"});
}

// An HTTP/1.0 client must not get Transfer-Encoding (RFC 9112 6.1); the coding is named where it can
// read it, after the content codings the upstream had applied first.
TEST(HeadRewriteTest, ClientResponseToHttp10NamesTransferCodingsAsContentEncoding) {
  auto rw = set_rewrite();
  rw.codings_to_content_encoding = true;
  rw.connection = ClientResponseRewrite::Connection::Close;
  Head h = to_client(response_block("HTTP/1.1 200 OK", {{"Transfer-Encoding", "gzip, chunked"}}), rw);
  EXPECT_EQ(count_of(h, "Transfer-Encoding"), 0u);
  EXPECT_EQ(values_of(h, "Content-Encoding"), std::vector<std::string>{"gzip"});
  h = to_client(response_block("HTTP/1.1 200 OK", {{"Content-Encoding", "br"},
                                                   {"Transfer-Encoding", "gzip"},
                                                   {"content-encoding", "deflate"},
                                                   {"Transfer-Encoding", "chunked"}}),
                rw);
  EXPECT_EQ(values_of(h, "Content-Encoding"), std::vector<std::string>{"br, deflate, gzip"});
  // Content-Encoding named by Connection is hop-by-hop: only the transfer coding is named.
  h = to_client(response_block("HTTP/1.1 200 OK", {{"Connection", "Content-Encoding"},
                                                   {"Content-Encoding", "br"},
                                                   {"Transfer-Encoding", "gzip, chunked"}}),
                rw);
  EXPECT_EQ(values_of(h, "Content-Encoding"), std::vector<std::string>{"gzip"});
  // Without a transfer coding other than chunked, Content-Encoding is left as it came.
  h = to_client(response_block("HTTP/1.1 200 OK", {{"Content-Encoding", "br"}, {"Transfer-Encoding", "chunked"}}), rw);
  EXPECT_EQ(values_of(h, "Content-Encoding"), std::vector<std::string>{"br"});
}

TEST(HeadRewriteTest, ClientResponseTransferEncodingOverridesContentLength) {
  const std::string block =
      response_block("HTTP/1.1 200 OK", {{"Content-Length", "10"}, {"Transfer-Encoding", "chunked"}});
  auto rw = set_rewrite();
  const Head h = to_client(block, rw);  // even when not re-chunked, the upstream's length is not trusted
  EXPECT_EQ(count_of(h, "Content-Length"), 0u);
}

TEST(HeadRewriteTest, ClientResponseConnectionFieldFollowsTheRewrite) {
  const std::string block =
      response_block("HTTP/1.1 200 OK", {{"Connection", "keep-alive"}, {"Content-Length", "0"}});
  auto rw = set_rewrite();
  rw.connection = ClientResponseRewrite::Connection::Close;
  EXPECT_EQ(values_of(to_client(block, rw), "Connection"), std::vector<std::string>{"close"});
  rw.connection = ClientResponseRewrite::Connection::KeepAlive;
  EXPECT_EQ(values_of(to_client(block, rw), "Connection"), std::vector<std::string>{"keep-alive"});
  rw.connection = ClientResponseRewrite::Connection::Default;
  EXPECT_EQ(count_of(to_client(block, rw), "Connection"), 0u);
  // The upstream's close is about its connection, not the client's.
  const std::string closing = response_block("HTTP/1.1 200 OK", {{"Connection", "close"}, {"Content-Length", "0"}});
  rw.connection = ClientResponseRewrite::Connection::KeepAlive;
  EXPECT_EQ(values_of(to_client(closing, rw), "Connection"), std::vector<std::string>{"keep-alive"});
}

TEST(HeadRewriteTest, ClientResponseStatusLineUsesTheStandardReasonWhenNoneCame) {
  struct Case {
    std::string_view upstream;
    std::string_view expected;
  };
  for (const Case c : {Case{"HTTP/1.1 404", "HTTP/1.1 404 Not Found"}, Case{"HTTP/1.1 404 ", "HTTP/1.1 404 Not Found"},
                       Case{"HTTP/1.0 200", "HTTP/1.1 200 OK"},
                       Case{"HTTP/1.1 503", "HTTP/1.1 503 Service Unavailable"},
                       Case{"HTTP/1.1 204 ", "HTTP/1.1 204 No Content"},
                       Case{"HTTP/1.1 404 Nope", "HTTP/1.1 404 Nope"},
                       Case{"HTTP/1.0 200 Fine, thanks", "HTTP/1.1 200 Fine, thanks"},
                       // No standard reason known for the status: none is made up.
                       Case{"HTTP/1.1 103", "HTTP/1.1 103 "}, Case{"HTTP/1.1 425 ", "HTTP/1.1 425 "}}) {
    SCOPED_TRACE(c.upstream);
    const Head h = to_client(response_block(c.upstream, {{"Content-Length", "0"}}), set_rewrite());
    EXPECT_EQ(h.start_line, c.expected);
  }
}

TEST(HeadRewriteTest, ClientResponseIsExactlyTheExpectedBytes) {
  std::string raw;
  auto rw = set_rewrite();
  rw.connection = ClientResponseRewrite::Connection::Close;
  to_client(response_block("HTTP/1.1 201 Created",
                           {{"Location", "/x/1"}, {"Connection", "keep-alive"}, {"Content-Length", "0"}}),
            rw, &raw);
  EXPECT_EQ(raw,
            "HTTP/1.1 201 Created\r\n"
            "Location: /x/1\r\n"
            "Content-Length: 0\r\n"
            "Via: 1.1 canaryd\r\n"
            "X-Canary-Set: canary\r\n"
            "Connection: close\r\n"
            "\r\n");
}

// --- interim responses ------------------------------------------------------------------------------------

Head interim(const std::string& block, std::string* raw = nullptr) {
  const ResponseHead response = parse_response_head(block);
  EXPECT_EQ(response.error, nullptr) << response.error;
  if (response.error) return Head{"", {}, "response rejected"};
  std::string out = "stale\r\n";
  write_interim_response(block, response, out);
  Head h = parse_written(out);
  EXPECT_EQ(h.error, "") << out;
  if (raw) *raw = out;
  return h;
}

TEST(HeadRewriteTest, EarlyHintsKeepTheirLinksAndLoseHopByHopFields) {
  const Head h = interim(response_block("HTTP/1.1 103 Early Hints", {{"Link", "</a.css>; rel=preload; as=style"},
                                                                     {"Connection", "X-Hint-Secret"},
                                                                     {"X-Hint-Secret", "s"},
                                                                     {"Keep-Alive", "timeout=5"},
                                                                     {"link", "</b.js>; rel=preload; as=script"}}));
  EXPECT_EQ(h.start_line, "HTTP/1.1 103 Early Hints");
  EXPECT_EQ(h.fields, (FieldList{{"Link", "</a.css>; rel=preload; as=style"},
                                 {"link", "</b.js>; rel=preload; as=script"}}));
  EXPECT_EQ(count_of(h, "Via"), 0u);
}

TEST(HeadRewriteTest, InterimResponseIsExactlyTheExpectedBytes) {
  std::string raw;
  interim(response_block("HTTP/1.1 103 Early Hints", {{"Link", "</a.css>; rel=preload"}, {"Connection", "close"}}),
          &raw);
  EXPECT_EQ(raw, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n");
}

TEST(HeadRewriteTest, InterimResponseWithoutReasonGetsTheStandardOne) {
  const Head h = interim(response_block("HTTP/1.1 102", {}));
  EXPECT_EQ(h.start_line, "HTTP/1.1 102 Processing");
  EXPECT_TRUE(h.fields.empty());
}

}  // namespace
}  // namespace canaryd::proxy
