#include "proxy/request_validator.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// Printable form of a raw block for failure messages: CR, LF, NUL and other controls escaped.
std::string printable(std::string_view raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

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
