// Unit tests of the request head check: a table of header blocks and their verdicts, rejection reasons,
// head-end search, target forms, what an accepted head reports, bare CR/LF detection.
#include "proxy/http/request_validator.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/proxy/printable.hpp"

namespace canaryd::proxy {
namespace {

using namespace std::string_literals;  // "..."s keeps embedded NULs

// A header block from a request line and field lines, each ended by CRLF, then the empty line.
template <class Fields>
std::string head_of(std::string_view request_line, const Fields& fields) {
  std::string out(request_line);
  out += "\r\n";
  for (const auto& f : fields) {
    out.append(f.data(), f.size());
    out += "\r\n";
  }
  out += "\r\n";
  return out;
}
std::string head(std::string_view request_line, std::initializer_list<std::string_view> fields) {
  return head_of(request_line, fields);
}
std::string head(std::string_view request_line, const std::vector<std::string>& fields) {
  return head_of(request_line, fields);
}

using testing::printable;

struct Case {
  std::string what;
  std::string block;
  int status;                                // 0: accepted
  bool chunked = false;                      // checked only when accepted
  std::optional<std::uint64_t> content_length{};
  bool http10 = false;
};

constexpr auto kNoCl = std::nullopt;

// `n` fields, the first of them Host.
std::vector<std::string> many_fields(int n) {
  std::vector<std::string> fields{"Host: example.com"};
  for (int i = 1; i < n; ++i) fields.push_back("X-F" + std::to_string(i) + ": v");
  return fields;
}

Case ok(std::string what, std::string block, bool chunked = false, std::optional<std::uint64_t> cl = kNoCl,
        bool http10 = false) {
  return Case{std::move(what), std::move(block), 0, chunked, cl, http10};
}

Case bad(std::string what, std::string block, int status = 400) {
  return Case{std::move(what), std::move(block), status, false, kNoCl, false};
}

std::vector<Case> cases() {
  const std::string h11 = "GET / HTTP/1.1";
  const std::string post = "POST /upload HTTP/1.1";
  const std::string host = "Host: example.com";
  return {
      // --- accepted requests and their framing ---------------------------------------------------
      ok("plain GET", head(h11, {host})),
      ok("GET with query and several fields", head("GET /a/b?c=d&e=f HTTP/1.1", {host, "Accept: */*", "User-Agent: t"})),
      ok("absolute-form target", head("GET http://example.com/x HTTP/1.1", {host})),
      ok("asterisk-form OPTIONS", head("OPTIONS * HTTP/1.1", {host})),
      ok("lowercase method is still a token", head("get / HTTP/1.1", {host})),
      ok("POST with Content-Length", head(post, {host, "Content-Length: 5"}), false, 5),
      ok("POST with Content-Length 0", head(post, {host, "Content-Length: 0"}), false, 0),
      ok("Content-Length without space after colon", head(post, {host, "Content-Length:5"}), false, 5),
      ok("Content-Length name in lowercase", head(post, {host, "content-length: 7"}), false, 7),
      ok("Content-Length name in mixed case", head(post, {host, "CoNtEnT-LeNgTh: 7"}), false, 7),
      ok("Content-Length with OWS spaces", head(post, {host, "Content-Length:  5  "}), false, 5),
      ok("Content-Length with OWS tabs", head(post, {host, "Content-Length:\t5\t"}), false, 5),
      ok("Content-Length with leading zeros", head(post, {host, "Content-Length: 007"}), false, 7),
      ok("duplicate equal Content-Length", head(post, {host, "Content-Length: 5", "Content-Length: 5"}), false, 5),
      ok("duplicate equal Content-Length, one with zeros", head(post, {host, "Content-Length: 5", "Content-Length: 05"}),
         false, 5),
      ok("Content-Length at uint64 max", head(post, {host, "Content-Length: 18446744073709551615"}), false,
         18446744073709551615ULL),
      ok("chunked", head(post, {host, "Transfer-Encoding: chunked"}), true),
      ok("CHUNKED in upper case", head(post, {host, "Transfer-Encoding: CHUNKED"}), true),
      ok("Chunked in mixed case", head(post, {host, "Transfer-Encoding: Chunked"}), true),
      ok("TE name in lowercase", head(post, {host, "transfer-encoding: chunked"}), true),
      ok("chunked with OWS around the value", head(post, {host, "Transfer-Encoding:  chunked "}), true),
      ok("chunked with tabs around the value", head(post, {host, "Transfer-Encoding:\tchunked\t"}), true),
      ok("HTTP/1.0 without Host", head("GET / HTTP/1.0", {}), false, kNoCl, true),
      ok("HTTP/1.0 with Host", head("GET / HTTP/1.0", {host}), false, kNoCl, true),
      ok("HTTP/1.0 POST with Content-Length", head("POST / HTTP/1.0", {"Content-Length: 3"}), false, 3, true),
      ok("HTAB inside a value", head(h11, {host, "X-Note: a\tb"})),
      ok("obs-text in a value", head(h11, {host, "X-Note: caf\xc3\xa9"})),
      ok("empty value", head(h11, {host, "X-Empty:"})),
      ok("empty Host value (authority absent)", head(h11, {"Host:"})),
      ok("every tchar in a field name", head(h11, {host, "X-!#$%&'*+-.^_`|~09az: v"})),
      ok("Host name in lowercase", head(h11, {"host: example.com"})),
      ok("colon inside a value", head(h11, {"Host: example.com:8080", "X-Time: 12:00:00"})),

      // --- Content-Length and Transfer-Encoding together ---------------------------------------
      bad("CL then TE", head(post, {host, "Content-Length: 5", "Transfer-Encoding: chunked"})),
      bad("TE then CL", head(post, {host, "Transfer-Encoding: chunked", "Content-Length: 5"})),
      bad("CL 0 with TE", head(post, {host, "Content-Length: 0", "Transfer-Encoding: chunked"})),
      bad("CL with TE on HTTP/1.0", head("POST / HTTP/1.0", {"Content-Length: 5", "Transfer-Encoding: chunked"})),

      // --- Transfer-Encoding other than exactly one `chunked` ----------------------------------
      bad("TE chunked, chunked", head(post, {host, "Transfer-Encoding: chunked, chunked"})),
      bad("TE xchunked", head(post, {host, "Transfer-Encoding: xchunked"})),
      bad("TE chunkedx", head(post, {host, "Transfer-Encoding: chunkedx"})),
      bad("TE chunked;q=1", head(post, {host, "Transfer-Encoding: chunked;q=1"})),
      bad("TE gzip, chunked", head(post, {host, "Transfer-Encoding: gzip, chunked"})),
      bad("TE identity", head(post, {host, "Transfer-Encoding: identity"})),
      bad("TE empty", head(post, {host, "Transfer-Encoding:"})),
      bad("TE chunk", head(post, {host, "Transfer-Encoding: chunk"})),
      bad("two TE lines", head(post, {host, "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"})),
      bad("two TE lines, gzip first", head(post, {host, "Transfer-Encoding: gzip", "Transfer-Encoding: chunked"})),
      bad("TE on HTTP/1.0", head("POST / HTTP/1.0", {"Transfer-Encoding: chunked"})),
      bad("TE with vertical tab before value", head(post, {host, "Transfer-Encoding: \x0b" "chunked"})),
      bad("TE with space before colon", head(post, {host, "Transfer-Encoding : chunked"})),

      // --- Content-Length not 1*DIGIT, conflicting or too large --------------------------------
      bad("CL +5", head(post, {host, "Content-Length: +5"})),
      bad("CL -1", head(post, {host, "Content-Length: -1"})),
      bad("CL 0x10", head(post, {host, "Content-Length: 0x10"})),
      bad("CL empty", head(post, {host, "Content-Length:"})),
      bad("CL only spaces", head(post, {host, "Content-Length:   "})),
      bad("CL 5, 5", head(post, {host, "Content-Length: 5, 5"})),
      bad("CL 5 5", head(post, {host, "Content-Length: 5 5"})),
      bad("CL 1e3", head(post, {host, "Content-Length: 1e3"})),
      bad("CL 5.0", head(post, {host, "Content-Length: 5.0"})),
      bad("CL differing duplicates", head(post, {host, "Content-Length: 5", "Content-Length: 6"})),
      bad("CL duplicate empty after a number", head(post, {host, "Content-Length: 5", "Content-Length:"})),
      bad("CL overflow", head(post, {host, "Content-Length: 99999999999999999999999"})),
      bad("CL uint64 max + 1", head(post, {host, "Content-Length: 18446744073709551616"})),
      bad("CL with space before colon", head(post, {host, "Content-Length : 5"})),

      // --- line endings and NUL ----------------------------------------------------------------
      bad("bare CR in a value", head(h11, {host, "X-A: a\rb"})),
      bad("bare LF in a value", head(h11, {host, "X-A: a\nb"})),
      bad("CR CR LF at a line end", head(h11, {"Host: example.com\r"})),
      bad("LF-only line endings", "GET / HTTP/1.1\nHost: example.com\n\n"),
      bad("request line ended by bare LF", "GET / HTTP/1.1\nHost: example.com\r\n\r\n"),
      bad("bare LF as the empty line", "GET / HTTP/1.1\r\nHost: example.com\r\n\n"),
      bad("bare CR in the request line", "GET /\r HTTP/1.1\r\nHost: example.com\r\n\r\n"),
      bad("NUL in a value", head(h11, {host, "X-A: a\0b"s})),
      bad("NUL in a name", head(h11, {host, "X-\0A: b"s})),
      bad("NUL in the target", head("GET /\0 HTTP/1.1"s, {host})),
      bad("NUL at the start", "\0GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"s),

      // --- obs-fold and whitespace where none is allowed ---------------------------------------
      bad("obs-fold with SP", head(h11, {host, "X-A: one", " two"})),
      bad("obs-fold with HTAB", head(h11, {host, "X-A: one", "\ttwo"})),
      bad("obs-fold continuing Host", head(h11, {host, " evil.example"})),
      bad("whitespace before the first field", head(h11, {" Host: example.com"})),
      bad("space between name and colon", head(h11, {"Host : example.com"})),
      bad("tab between name and colon", head(h11, {host, "X-A\t: b"})),
      bad("space inside a name", head(h11, {host, "X A: b"})),

      // --- controls and malformed field lines ---------------------------------------------------
      bad("0x01 in a name", head(h11, {host, "X-\x01" "A: b"})),
      bad("DEL in a name", head(h11, {host, "X-\x7f" "A: b"})),
      bad("non-ASCII in a name", head(h11, {host, "X-\xc3\xa9: b"})),
      bad("0x01 in a value", head(h11, {host, "X-A: a\x01" "b"})),
      bad("DEL in a value", head(h11, {host, "X-A: a\x7f" "b"})),
      bad("ESC in a value", head(h11, {host, "X-A: \x1b[31m"})),
      bad("empty field name", head(h11, {host, ": b"})),
      bad("line without colon", head(h11, {host, "X-A b"})),
      bad("Host line without colon", head(h11, {"Host example.com"})),
      bad("name of separators", head(h11, {host, "X(A): b"})),

      // --- request-line shapes ------------------------------------------------------------------
      bad("method only", head("GET", {host})),
      bad("no version (HTTP/0.9 simple request)", head("GET /", {host})),
      bad("empty request line", head("", {host})),
      bad("double space after method", head("GET  / HTTP/1.1", {host})),
      bad("double space before version", head("GET /  HTTP/1.1", {host})),
      bad("trailing space after version", head("GET / HTTP/1.1 ", {host})),
      bad("leading space before method", head(" GET / HTTP/1.1", {host})),
      bad("tabs as separators", head("GET\t/\tHTTP/1.1", {host})),
      bad("extra word after version", head("GET / HTTP/1.1 x", {host})),
      bad("method with separator", head("GE(T / HTTP/1.1", {host})),
      bad("lowercase http/1.1", head("GET / http/1.1", {host})),
      bad("HTTP/1.10", head("GET / HTTP/1.10", {host})),
      bad("HTTP/1", head("GET / HTTP/1", {host})),
      bad("HTTP/11", head("GET / HTTP/11", {host})),
      bad("HTTP/1.x", head("GET / HTTP/1.x", {host})),
      bad("HTTP/ 1.1", head("GET / HTTP/ 1.1", {host})),
      bad("HTTPS/1.1", head("GET / HTTPS/1.1", {host})),
      ok("HTTP/1.2 is handled as HTTP/1.1 (RFC 9110 2.5)", head("GET / HTTP/1.2", {host})),
      ok("a target of 8192 bytes", head("GET /" + std::string(8191, 'a') + " HTTP/1.1", {host})),
      bad("a target over 8192 bytes", head("GET /" + std::string(8192, 'a') + " HTTP/1.1", {host}), 414),
      ok("100 header fields", head(h11, many_fields(100))),
      bad("101 header fields", head(h11, many_fields(101)), 431),
      bad("HTTP/1.9 without Host is held to HTTP/1.1 rules", head("GET / HTTP/1.9", {"Accept: */*"})),
      bad("HTTP/2.0 is well-formed but unsupported", head("GET / HTTP/2.0", {host}), 505),
      bad("HTTP/3.0 is well-formed but unsupported", head("GET / HTTP/3.0", {host}), 505),
      bad("HTTP/0.9 is well-formed but unsupported", head("GET / HTTP/0.9", {host}), 505),
      bad("target with a space", head("GET /a b HTTP/1.1", {host})),
      bad("target with 0x01", head("GET /a\x01 HTTP/1.1", {host})),
      bad("target with DEL", head("GET /a\x7f HTTP/1.1", {host})),
      bad("target with HTAB", head("GET /a\tb HTTP/1.1", {host})),
      bad("target with non-ASCII", head("GET /caf\xc3\xa9 HTTP/1.1", {host})),

      // --- Host ----------------------------------------------------------------------------------
      bad("HTTP/1.1 without Host", head(h11, {"Accept: */*"})),
      bad("HTTP/1.1 with two Host lines", head(h11, {host, "Host: other.example"})),
      bad("HTTP/1.1 with two equal Host lines", head(h11, {host, host})),
      bad("HTTP/1.1 with Host in two cases", head(h11, {"host: a.example", "HOST: a.example"})),
      bad("HTTP/1.0 with two Host lines", head("GET / HTTP/1.0", {host, "Host: other.example"})),
      bad("Host smuggled with space before colon", head(h11, {host, "Host : other.example"})),
  };
}

TEST(RequestValidatorTest, TableOfHeaderBlocksGetsTheExpectedVerdict) {
  const auto table = cases();
  ASSERT_GE(table.size(), 60u);
  for (const auto& c : table) {
    SCOPED_TRACE(c.what + ": " + printable(c.block));
    const RequestCheck r = check_request_head(c.block);
    EXPECT_EQ(r.status, c.status) << "reason: " << r.reason;
    if (c.status == 0) {
      EXPECT_EQ(r.chunked, c.chunked);
      EXPECT_EQ(r.content_length, c.content_length);
      EXPECT_EQ(r.http10, c.http10);
    } else {
      EXPECT_NE(std::string_view(r.reason), "") << "a rejection names its reason";
    }
  }
}

TEST(RequestValidatorTest, RejectionsCarryTheirReason) {
  EXPECT_STREQ(check_request_head(head("GET / HTTP/2.0", {"Host: a"})).reason, "HTTP version not supported");
  EXPECT_STREQ(check_request_head(head("POST / HTTP/1.1", {"Host: a", "Content-Length: 1", "Transfer-Encoding: chunked"}))
                   .reason,
               "both Content-Length and Transfer-Encoding");
  EXPECT_STREQ(check_request_head(head("GET / HTTP/1.1", {})).reason, "missing Host");
  EXPECT_STREQ(check_request_head(head("GET / HTTP/1.1", {"Host: a", "Host: a"})).reason, "duplicate Host");
}

// RFC 9112 3.2: a server MUST answer 400 to a request whose Host field value is invalid, not only to a
// missing or repeated Host. A Host value is uri-host [ ":" port ]; spaces, commas, '/' and '@' cannot
// appear in it.
TEST(RequestValidatorTest, HostWithInvalidValueIsRejected) {
  for (std::string_view value : {"Host: a b.example", "Host: a.example, b.example", "Host: a.example/evil",
                                 "Host: user@a.example", "Host: a.example:80x"}) {
    SCOPED_TRACE(value);
    EXPECT_EQ(check_request_head(head("GET / HTTP/1.1", {value})).status, 400);
  }
}

TEST(RequestValidatorTest, HostWithPortOrIpLiteralIsAccepted) {
  for (std::string_view value : {"Host: a.example:8080", "Host: 127.0.0.1", "Host: 127.0.0.1:80", "Host: [::1]:80",
                                 "Host: xn--bcher-kva.example", "Host: A.Example"}) {
    SCOPED_TRACE(value);
    EXPECT_EQ(check_request_head(head("GET / HTTP/1.1", {value})).status, 0);
  }
}

TEST(RequestValidatorTest, FindHeadEndPointsJustPastTheEmptyLine) {
  const std::string block = head("GET / HTTP/1.1", {"Host: a"});
  EXPECT_EQ(find_head_end(block), block.size());
  EXPECT_EQ(find_head_end(block + "body bytes\r\n\r\n"), block.size()) << "the first terminator wins";
}

TEST(RequestValidatorTest, FindHeadEndWithoutTerminatorIsNpos) {
  EXPECT_EQ(find_head_end(""), std::string_view::npos);
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n"), std::string_view::npos);
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n\r"), std::string_view::npos);
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\nHost: a\n\n"), std::string_view::npos) << "bare LFs do not end a head";
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\r\n\n\r\n"), std::string_view::npos);
}

TEST(RequestValidatorTest, FindHeadEndResumesFromAnyOffset) {
  // A caller scans what has arrived, then resumes from the old size once more bytes come: the
  // terminator must be found even when it straddles the two reads. Every size short of the whole block
  // is a size at which the earlier scan found nothing.
  const std::string block = head("GET / HTTP/1.1", {"Host: a", "Accept: */*"});
  for (std::size_t from = 0; from < block.size(); ++from) {
    SCOPED_TRACE(from);
    EXPECT_EQ(find_head_end(block, from), block.size());
  }
}

TEST(RequestValidatorTest, FindHeadEndSplitAtEveryByteMatchesOneScan) {
  const std::string block = head("POST / HTTP/1.1", {"Host: a", "Content-Length: 3"}) + "abc";
  const std::size_t expected = block.size() - 3;
  for (std::size_t split = 0; split <= block.size(); ++split) {
    SCOPED_TRACE(split);
    const std::string_view first = std::string_view(block).substr(0, split);
    const std::size_t early = find_head_end(first);
    if (split >= expected) {
      EXPECT_EQ(early, expected);
    } else {
      EXPECT_EQ(early, std::string_view::npos);
      EXPECT_EQ(find_head_end(block, split), expected);
    }
  }
}

TEST(RequestValidatorTest, FindHeadEndFromPastTheDataIsNpos) {
  const std::string block = head("GET / HTTP/1.1", {"Host: a"});
  EXPECT_EQ(find_head_end(block, block.size() + 4), std::string_view::npos);
  EXPECT_EQ(find_head_end(block, 1000), std::string_view::npos);
}

TEST(RequestValidatorTest, FindHeadEndResultIsAcceptedByTheCheck) {
  const std::string data = head("POST /x HTTP/1.1", {"Host: a", "Transfer-Encoding: chunked"}) + "5\r\nhello\r\n0\r\n\r\n";
  const std::size_t end = find_head_end(data);
  ASSERT_NE(end, std::string_view::npos);
  const RequestCheck r = check_request_head(std::string_view(data).substr(0, end));
  EXPECT_EQ(r.status, 0) << r.reason;
  EXPECT_TRUE(r.chunked);
  EXPECT_FALSE(r.content_length.has_value());
}

}  // namespace
}  // namespace canaryd::proxy

// --- what an accepted head tells the proxy ---------------------------------------------------------

namespace canaryd::proxy {
namespace {

// Checks a block that must be accepted.
RequestCheck accepted(const std::string& block, std::string_view override_header = {}) {
  const RequestCheck r = check_request_head(block, override_header);
  EXPECT_EQ(r.status, 0) << r.reason << " for " << printable(block);
  return r;
}

bool points_into(std::string_view view, const std::string& block) {
  return view.data() >= block.data() && view.data() + view.size() <= block.data() + block.size();
}

TEST(RequestValidatorTest, OriginFormGivesMethodTargetAndFieldsBegin) {
  const std::string block = head("POST /a/b?c=d HTTP/1.1", {"Host: example.com", "Content-Length: 0"});
  const RequestCheck r = accepted(block);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/a/b?c=d");
  EXPECT_FALSE(r.target_needs_slash);
  EXPECT_EQ(r.authority, "");
  EXPECT_EQ(r.fields_begin, std::string_view("POST /a/b?c=d HTTP/1.1\r\n").size());
  EXPECT_EQ(block.substr(r.fields_begin, 5), "Host:");
  EXPECT_TRUE(points_into(r.method, block));
  EXPECT_TRUE(points_into(r.target, block));
  EXPECT_EQ(r.minor_version, 1);
  EXPECT_FALSE(r.http10);
}

TEST(RequestValidatorTest, MethodIsTakenAsSent) {
  for (std::string_view method : {"GET", "HEAD", "DELETE", "PROPFIND", "get", "M-SEARCH"}) {
    SCOPED_TRACE(method);
    const std::string block = head(std::string(method) + " / HTTP/1.1", {"Host: a"});
    EXPECT_EQ(accepted(block).method, method);
  }
}

TEST(RequestValidatorTest, AsteriskAndOriginFormWithSchemeInTheQueryAreLeftAlone) {
  // The views point into the block, which must outlive them.
  const std::string asterisk = head("OPTIONS * HTTP/1.1", {"Host: a"});
  RequestCheck r = accepted(asterisk);
  EXPECT_EQ(r.target, "*");
  EXPECT_EQ(r.authority, "");
  EXPECT_FALSE(r.target_needs_slash);
  const std::string query = head("GET /go?to=http://evil.example/x HTTP/1.1", {"Host: a"});
  r = accepted(query);
  EXPECT_EQ(r.target, "/go?to=http://evil.example/x");
  EXPECT_EQ(r.authority, "");
  EXPECT_FALSE(r.target_needs_slash);
}

TEST(RequestValidatorTest, AbsoluteFormIsSplitIntoAuthorityAndOriginForm) {
  struct Case {
    std::string_view target;
    std::string_view authority;
    std::string_view origin;
    bool needs_slash;
  };
  for (const Case c : {Case{"http://example.com:8080/x?y=1", "example.com:8080", "/x?y=1", false},
                       Case{"https://a.example/", "a.example", "/", false},
                       Case{"HTTP://A.Example/p", "A.Example", "/p", false},
                       Case{"HtTpS://a/p", "a", "/p", false},
                       Case{"http://[::1]:80/v6", "[::1]:80", "/v6", false},
                       Case{"http://a", "a", "", true},
                       Case{"http://a:81", "a:81", "", true},
                       Case{"http://a?q=1", "a", "?q=1", true},
                       Case{"http://a/?q=1", "a", "/?q=1", false},
                       Case{"http://a/b@c", "a", "/b@c", false},
                       Case{"http://a?x=u@v", "a", "?x=u@v", true}}) {
    SCOPED_TRACE(c.target);
    const std::string block = head("GET " + std::string(c.target) + " HTTP/1.1", {"Host: other.example"});
    const RequestCheck r = accepted(block);
    EXPECT_EQ(r.authority, c.authority);
    EXPECT_EQ(r.target, c.origin);
    EXPECT_EQ(r.target_needs_slash, c.needs_slash);
    EXPECT_TRUE(points_into(r.authority, block));
    EXPECT_EQ(r.has_host, true);
  }
}

// RFC 9112 3.2: origin and absolute form for any method (http and https only: nothing else is proxied),
// authority form only for CONNECT, asterisk form only for OPTIONS; anything else is a 400. The old
// check took any visible ASCII, so "GET ../x", "GET *" and "GET ftp://x/" went upstream as they were.
TEST(RequestValidatorTest, TargetFormMustSuitTheMethod) {
  struct Case {
    std::string_view method;
    std::string_view target;
    const char* reason;  // null: accepted
  };
  constexpr const char* kNotForMethod = "request target form not allowed for the method";
  constexpr const char* kScheme = "absolute-form target with a scheme other than http or https";
  constexpr const char* kAsterisk = "asterisk-form target on a method other than OPTIONS";
  constexpr const char* kAuthority = "invalid authority-form target";
  const Case cases[] = {
      {"GET", "/p?q=1", nullptr},
      {"GET", "//double/slash", nullptr},
      {"DELETE", "/x", nullptr},
      {"CONNECT", "/x", nullptr},  // origin form is allowed for every method (CONNECT is then a 405)
      {"POST", "https://a.example/x", nullptr},
      {"OPTIONS", "*", nullptr},
      {"OPTIONS", "/", nullptr},
      {"CONNECT", "a.example:443", nullptr},
      {"CONNECT", "10.0.0.1:8443", nullptr},
      {"CONNECT", "[::1]:443", nullptr},
      {"GET", "../x", kNotForMethod},
      {"GET", "x", kNotForMethod},
      {"GET", "?q", kNotForMethod},
      {"GET", "host:80", kNotForMethod},
      {"POST", "a.example:443", kNotForMethod},
      {"GET", "http:/x", kNotForMethod},
      {"GET", "http:x", kNotForMethod},
      {"GET", "mailto:a@b.example", kNotForMethod},
      {"GET", "ftp://x/", kScheme},
      {"GET", "ws://a.example/chat", kScheme},
      {"OPTIONS", "file:///etc/passwd", kScheme},
      {"GET", "*", kAsterisk},
      {"POST", "*", kAsterisk},
      {"CONNECT", "*", kAsterisk},
      {"CONNECT", "a.example", kAuthority},
      {"CONNECT", "a.example:", kAuthority},
      {"CONNECT", ":443", kAuthority},
      {"CONNECT", "[::1]", kAuthority},
      {"CONNECT", "a.example:https", kAuthority},
      {"CONNECT", "user@a.example:443", kAuthority},
      {"CONNECT", "ftp://x:21", kAuthority},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.method) + " " + std::string(c.target));
    const std::string block = head(std::string(c.method) + " " + std::string(c.target) + " HTTP/1.1", {"Host: a"});
    const RequestCheck r = check_request_head(block);
    if (c.reason == nullptr) {
      EXPECT_EQ(r.status, 0) << r.reason;
    } else {
      EXPECT_EQ(r.status, 400);
      EXPECT_STREQ(r.reason, c.reason);
    }
  }
}

TEST(RequestValidatorTest, AbsoluteFormOnHttp10WithoutHostIsAccepted) {
  const std::string block = head("GET http://a.example/x HTTP/1.0", {});
  const RequestCheck r = accepted(block);
  EXPECT_EQ(r.authority, "a.example");
  EXPECT_EQ(r.target, "/x");
  EXPECT_FALSE(r.has_host);
}

TEST(RequestValidatorTest, AbsoluteFormWithUserinfoOrWithoutAuthorityIsRejected) {
  for (std::string_view target : {"http://user@host/", "http://user:pw@host/x", "http://@host/", "https://u@h",
                                  "http://u@h?q", "http:///x", "http://", "http://?q=1", "https:///"}) {
    SCOPED_TRACE(target);
    const RequestCheck r = check_request_head(head("GET " + std::string(target) + " HTTP/1.1", {"Host: host"}));
    EXPECT_EQ(r.status, 400);
    EXPECT_STREQ(r.reason, "invalid absolute-form target");
  }
}

// The authority of an absolute-form target becomes the Host sent upstream (the received Host is
// dropped), so it is held to the rules the Host field is (HostWithInvalidValueIsRejected above).
TEST(RequestValidatorTest, AbsoluteFormWithAnInvalidAuthorityIsRejected) {
  for (std::string_view target : {"http://a.example:80x/", "http://a\"b/", "http://a{b}/", "http://a#frag/x",
                                  "http://[::1/", "http://a:b:c/"}) {
    SCOPED_TRACE(target);
    EXPECT_EQ(check_request_head(head("GET " + std::string(target) + " HTTP/1.1", {"Host: a.example"})).status, 400);
  }
}

TEST(RequestValidatorTest, KeepAliveFollowsRfc9112Section93) {
  struct Case {
    std::string_view version;
    std::vector<std::string> connection;  // Connection field lines
    bool keep_alive;
  };
  const Case cases[] = {
      {"HTTP/1.1", {}, true},
      {"HTTP/1.1", {"Connection: keep-alive"}, true},
      {"HTTP/1.1", {"Connection: close"}, false},
      {"HTTP/1.1", {"Connection: Close"}, false},
      {"HTTP/1.1", {"connection: CLOSE"}, false},
      {"HTTP/1.1", {"Connection: X-A, close"}, false},
      {"HTTP/1.1", {"Connection:\tkeep-alive ,close\t"}, false},
      {"HTTP/1.1", {"Connection: keep-alive", "Connection: close"}, false},
      {"HTTP/1.1", {"Connection: closed"}, true},
      {"HTTP/1.1", {"Connection: close-ish, x"}, true},
      {"HTTP/1.1", {"Connection: Upgrade"}, true},
      {"HTTP/1.2", {}, true},
      {"HTTP/1.0", {}, false},
      {"HTTP/1.0", {"Keep-Alive: timeout=5"}, false},  // Keep-Alive is not a Connection option
      {"HTTP/1.0", {"Connection: keep-alive"}, true},
      {"HTTP/1.0", {"Connection: Keep-Alive"}, true},
      {"HTTP/1.0", {"connection: KEEP-ALIVE"}, true},
      {"HTTP/1.0", {"Connection: X-A, keep-alive"}, true},
      {"HTTP/1.0", {"Connection: ,, keep-alive ,"}, true},
      {"HTTP/1.0", {"Connection: X-A", "Connection: keep-alive"}, true},
      {"HTTP/1.0", {"Connection: keep-alive, close"}, false},
      {"HTTP/1.0", {"Connection: keep-alive", "Connection: close"}, false},
      {"HTTP/1.0", {"Connection: keepalive"}, false},
      {"HTTP/1.0", {"Connection: keep-alive-ish"}, false},
  };
  for (const Case& c : cases) {
    std::vector<std::string> fields{"Host: a"};
    fields.insert(fields.end(), c.connection.begin(), c.connection.end());
    const std::string block = head("GET / " + std::string(c.version), fields);
    SCOPED_TRACE(printable(block));
    EXPECT_EQ(accepted(block).keep_alive, c.keep_alive);
  }
}

TEST(RequestValidatorTest, ConnectionNamesFields) {
  struct Case {
    std::vector<std::string> connection;
    bool names_fields;
  };
  const Case cases[] = {
      {{}, false},
      {{"Connection: close"}, false},
      {{"Connection: keep-alive"}, false},
      {{"Connection: Keep-Alive, CLOSE"}, false},
      {{"Connection: , ,"}, false},
      {{"Connection: X-A"}, true},
      {{"Connection: keep-alive, TE"}, true},
      {{"Connection: close", "Connection: Upgrade"}, true},
      {{"X-Connection: X-A"}, false},
  };
  for (const Case& c : cases) {
    std::vector<std::string> fields{"Host: a"};
    fields.insert(fields.end(), c.connection.begin(), c.connection.end());
    const std::string block = head("GET / HTTP/1.1", fields);
    SCOPED_TRACE(printable(block));
    EXPECT_EQ(accepted(block).connection_names_fields, c.names_fields);
  }
}

TEST(RequestValidatorTest, HasHost) {
  EXPECT_TRUE(accepted(head("GET / HTTP/1.1", {"Host: a"})).has_host);
  EXPECT_TRUE(accepted(head("GET / HTTP/1.1", {"hOsT: a"})).has_host);
  EXPECT_TRUE(accepted(head("GET / HTTP/1.1", {"Host:"})).has_host) << "an empty Host is still a Host";
  EXPECT_TRUE(accepted(head("GET / HTTP/1.0", {"Host: a"})).has_host);
  EXPECT_FALSE(accepted(head("GET / HTTP/1.0", {"Accept: */*"})).has_host);
  EXPECT_FALSE(accepted(head("GET / HTTP/1.0", {"X-Host: a"})).has_host);
}

TEST(RequestValidatorTest, ExpectIsReportedWithItsFirstValue) {
  const std::string plain = head("POST / HTTP/1.1", {"Host: a", "Expect: 100-continue", "Content-Length: 5"});
  RequestCheck r = accepted(plain);
  EXPECT_TRUE(r.has_expect);
  EXPECT_EQ(r.expect, "100-continue");
  const std::string two = head("POST / HTTP/1.1", {"Host: a", "expect:  100-Continue \t", "EXPECT: other"});
  r = accepted(two);
  EXPECT_TRUE(r.has_expect);
  EXPECT_EQ(r.expect, "100-Continue");
  const std::string empty_first = head("POST / HTTP/1.1", {"Host: a", "Expect:", "Expect: 100-continue"});
  r = accepted(empty_first);
  EXPECT_TRUE(r.has_expect);
  EXPECT_EQ(r.expect, "") << "an empty Expect is an expectation the proxy cannot meet, not none";
  const std::string none = head("GET / HTTP/1.1", {"Host: a", "X-Expect: 100-continue"});
  r = accepted(none);
  EXPECT_FALSE(r.has_expect);
  EXPECT_EQ(r.expect, "");
}

TEST(RequestValidatorTest, OverrideFieldIsReportedWithItsFirstValue) {
  const std::string block =
      head("GET / HTTP/1.1", {"Host: a", "X-Canary-Other: x", "x-canary:  always ", "X-CANARY: never"});
  RequestCheck r = accepted(block, "X-Canary");
  EXPECT_TRUE(r.has_override);
  EXPECT_EQ(r.override_value, "always");
  EXPECT_TRUE(points_into(r.override_value, block));
  r = accepted(block, "x-canary-other");
  EXPECT_TRUE(r.has_override);
  EXPECT_EQ(r.override_value, "x");
  r = accepted(block);
  EXPECT_FALSE(r.has_override) << "no override field configured";
  r = accepted(block, "X-Canar");
  EXPECT_FALSE(r.has_override) << "a prefix is not the field";
  const std::string empty = head("GET / HTTP/1.1", {"Host: a", "X-Canary:"});
  r = accepted(empty, "X-Canary");
  EXPECT_TRUE(r.has_override);
  EXPECT_EQ(r.override_value, "");
}

TEST(RequestValidatorTest, OverrideFieldWithTheNameOfAnotherCheckedFieldIsStillReported) {
  // The override lookup is not an alternative to the other field checks.
  const std::string block = head("POST / HTTP/1.1", {"Host: a", "Expect: 100-continue", "Content-Length: 1"});
  const RequestCheck r = accepted(block, "Expect");
  EXPECT_TRUE(r.has_override);
  EXPECT_EQ(r.override_value, "100-continue");
  EXPECT_TRUE(r.has_expect);
}

TEST(RequestValidatorTest, MinorVersionIsReported) {
  EXPECT_EQ(accepted(head("GET / HTTP/1.0", {})).minor_version, 0);
  EXPECT_EQ(accepted(head("GET / HTTP/1.1", {"Host: a"})).minor_version, 1);
  const RequestCheck r = accepted(head("GET / HTTP/1.2", {"Host: a"}));
  EXPECT_EQ(r.minor_version, 2);
  EXPECT_FALSE(r.http10);
}

TEST(RequestValidatorTest, BareLineBreaksAreFoundBeforeTheHeadEnds) {
  EXPECT_FALSE(has_bare_line_break("GET / HTTP/1.1\r\nHost: x\r"));  // the CR's successor is still to come
  EXPECT_TRUE(has_bare_line_break("GET / HTTP/1.1\nHost"));
  EXPECT_TRUE(has_bare_line_break("GET / HTTP/1.1\rHost"));
  EXPECT_TRUE(has_bare_line_break("\n"));
  // Resuming where the last call stopped still sees a CR whose successor has arrived since.
  EXPECT_TRUE(has_bare_line_break("GET / HTTP/1.1\rX", 15));
  EXPECT_FALSE(has_bare_line_break("GET / HTTP/1.1\r\nX", 15));
}

}  // namespace
}  // namespace canaryd::proxy
