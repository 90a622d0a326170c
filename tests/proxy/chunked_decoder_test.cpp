// Unit tests of the chunked request-body decoder: valid bodies however split, malformed framing, limits
// (413, 431), and a copy checking ahead.
#include "proxy/http/chunked_decoder.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <string_view>

#include "tests/proxy/printable.hpp"

namespace canaryd::proxy {
namespace {

using namespace std::string_literals;  // "..."s keeps embedded NULs
using testing::printable;

constexpr std::size_t kLine = 64;
constexpr std::size_t kAll = std::numeric_limits<std::size_t>::max();

struct Decoded {
  std::string body;
  std::size_t consumed = 0;  // of the input, framing and data
  bool done = false;
  int status = 0;            // the decoder's error_status(), 0 when it did not fail
  std::string error;
};

// Decodes `wire` fed `piece` bytes at a time, taking at most `max_data` body bytes per step, as the
// relay does: what a step consumes is gone, the rest waits for more input.
Decoded decode(std::string_view wire, std::size_t piece = kAll, std::size_t max_data = kAll,
               std::uint64_t max_body = 0, std::size_t max_line = kLine) {
  ChunkedDecoder d(max_body, max_line);
  Decoded out;
  std::string pending;
  std::size_t fed = 0;
  while (!d.done() && !d.failed()) {
    const std::size_t n = std::min(piece, wire.size() - fed);
    pending.append(wire.substr(fed, n));
    fed += n;
    for (;;) {
      const auto step = d.next(pending, max_data);
      out.body.append(step.data);
      out.consumed += step.consumed;
      pending.erase(0, step.consumed);
      if (step.consumed == 0 || d.done() || d.failed()) break;
    }
    if (fed == wire.size()) break;
  }
  out.done = d.done();
  out.status = d.failed() ? d.error_status() : 0;
  out.error = d.error();
  return out;
}

TEST(ChunkedDecoderTest, ValidBodiesDecodeAlikeHoweverTheInputIsSplit) {
  struct Case {
    std::string wire;
    std::string body;
  };
  const Case cases[] = {
      {"5\r\nhello\r\n0\r\n\r\n", "hello"},
      {"0\r\n\r\n", ""},
      {"0005\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n", "hello0123456789"},
      {"a\r\n0123456789\r\nb\r\nabcdefghijk\r\n0\r\n\r\n", "0123456789abcdefghijk"},
      {"5;ext=secret\r\nhello\r\n6;a=1;b=\"q;x\"\r\n world\r\n0;last\r\n\r\n", "hello world"},
      {"5 ;a ; b = \"x\\\"y\" \r\nhello\r\n0 \r\n\r\n", "hello"},  // BWS; an escaped quote
      {"3;a=\"\x80\xff\"\r\nabc\r\n0\r\n\r\n", "abc"},            // obs-text in a quoted value
      {"5\r\nhello\r\n0\r\nX-Trailer: t\r\nX-Two:\t2 \r\n\r\n", "hello"},
      {"4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n"},  // data is data, whatever its bytes
  };
  for (const Case& c : cases) {
    for (std::size_t piece : {kAll, std::size_t{1}, std::size_t{2}, std::size_t{7}}) {
      for (std::size_t max_data : {kAll, std::size_t{1}, std::size_t{3}}) {
        SCOPED_TRACE(printable(c.wire) + " in pieces of " + std::to_string(piece) + ", data steps of " +
                     std::to_string(max_data));
        const Decoded d = decode(c.wire, piece, max_data);
        EXPECT_TRUE(d.done) << d.error;
        EXPECT_EQ(d.status, 0);
        EXPECT_EQ(d.body, c.body);
        EXPECT_EQ(d.consumed, c.wire.size());
      }
    }
  }
}

TEST(ChunkedDecoderTest, BytesAfterTheBodyAreLeftForTheNextRequest) {
  const std::string body = "3\r\nabc\r\n0\r\n\r\n";
  const Decoded d = decode(body + "GET / HTTP/1.1\r\n");
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.consumed, body.size());
  ChunkedDecoder skipper(0, kLine);
  EXPECT_EQ(skipper.skip(body + "GET /"), body.size());
  EXPECT_TRUE(skipper.done());
}

TEST(ChunkedDecoderTest, MalformedFramingFailsWith400) {
  struct Case {
    std::string what;
    std::string wire;
    std::string error;
  };
  const Case cases[] = {
      {"bare LF ending a chunk line", "5\nhello\r\n0\r\n\r\n", "bare LF in chunk line"},
      {"bare LF after an extension", "5;a=b\nhello\r\n0\r\n\r\n", "bare LF in chunk line"},
      {"bare LF after an extension name", "5;a\nhello\r\n0\r\n\r\n", "bare LF in chunk line"},
      {"bare CR ending a chunk line", "5\rhello\r\n0\r\n\r\n", "bare CR in chunk line"},
      {"0x01 in an extension token", "5;a=b\x01\r\nhello\r\n0\r\n\r\n", "invalid chunk extension"},
      {"0x01 in an extension name", "5;a\x01=b\r\nhello\r\n0\r\n\r\n", "invalid chunk extension"},
      {"0x01 in a quoted extension", "5;a=\"b\x01\"\r\nhello\r\n0\r\n\r\n", "control character in chunk extension"},
      {"NUL in a quoted extension", "5;a=\"b\0\"\r\nhello\r\n0\r\n\r\n"s, "control character in chunk extension"},
      {"DEL in a quoted extension", "5;a=\"\x7f\"\r\nhello\r\n0\r\n\r\n", "control character in chunk extension"},
      {"escaped LF in a quoted extension", "5;a=\"\\\n\"\r\nhello\r\n0\r\n\r\n", "control character in chunk extension"},
      {"unterminated quoted extension", "5;a=\"b\r\nhello\r\n0\r\n\r\n", "control character in chunk extension"},
      {"extension without a name", "5;=b\r\nhello\r\n0\r\n\r\n", "invalid chunk extension"},
      {"empty extension", "5;\r\nhello\r\n0\r\n\r\n", "invalid chunk extension"},
      {"extension with an empty value", "5;a=\r\nhello\r\n0\r\n\r\n", "invalid chunk extension"},
      {"text after the size", "5 x\r\nhello\r\n0\r\n\r\n", "invalid chunk extension"},
      {"more data than the chunk size", "3\r\nhello\r\n0\r\n\r\n", "chunk data not followed by CRLF"},
      {"chunk data without CRLF", "5\r\nhelloXX0\r\n\r\n", "chunk data not followed by CRLF"},
      {"chunk data followed by a bare LF", "5\r\nhello\n0\r\n\r\n", "chunk data not followed by CRLF"},
      {"chunk data followed by CR only", "5\r\nhello\rX0\r\n\r\n", "chunk data not followed by CRLF"},
      {"size +5", "+5\r\nhello\r\n0\r\n\r\n", "invalid chunk size"},
      {"size -5", "-5\r\nhello\r\n0\r\n\r\n", "invalid chunk size"},
      {"size 0x5", "0x5\r\nhello\r\n0\r\n\r\n", "invalid chunk size"},
      {"size zz", "zz\r\nhello\r\n0\r\n\r\n", "invalid chunk size"},
      {"empty size", "\r\nhello\r\n0\r\n\r\n", "invalid chunk size"},
      {"size over 64 bits", "10000000000000005\r\nhello\r\n0\r\n\r\n", "chunk size too large"},
      {"trailer with obs-fold", "0\r\nX-A: 1\r\n 2\r\n\r\n", "invalid trailer field"},
      {"trailer without a colon", "0\r\nX-A\r\n\r\n", "invalid trailer field"},
      {"trailer with an empty name", "0\r\n: v\r\n\r\n", "invalid trailer field"},
      {"trailer with a space before the colon", "0\r\nX-A : v\r\n\r\n", "invalid trailer field"},
      {"trailer with 0x01 in a value", "0\r\nX-A: a\x01\r\n\r\n", "control character in trailer field"},
      {"trailer with a bare LF", "0\r\nX-A: a\nX-B: b\r\n\r\n", "control character in trailer field"},
      {"trailer with a bare CR", "0\r\nX-A: a\rb\r\n\r\n", "bare CR in trailer section"},
      {"last chunk ended by a bare LF", "0\r\n\n", "invalid trailer field"},
      {"body ended by CR and no LF", "0\r\n\rX", "bare CR in trailer section"},
  };
  for (const Case& c : cases) {
    for (std::size_t piece : {kAll, std::size_t{1}}) {
      SCOPED_TRACE(c.what + ": " + printable(c.wire) + (piece == 1 ? " byte by byte" : ""));
      const Decoded d = decode(c.wire, piece);
      EXPECT_FALSE(d.done);
      EXPECT_EQ(d.status, 400);
      EXPECT_EQ(d.error, c.error);
    }
  }
}

TEST(ChunkedDecoderTest, DataBeforeAnErrorIsDeliveredAndTheErrorStopsThere) {
  const Decoded d = decode("5\r\nhelloXX0\r\n\r\n");
  EXPECT_EQ(d.body, "hello");
  EXPECT_EQ(d.status, 400);
  EXPECT_EQ(d.consumed, std::string_view("5\r\nhello").size());
}

TEST(ChunkedDecoderTest, ACopyChecksWhatHasArrivedWithoutDisturbingTheOriginal) {
  // The relay's pattern: a copy runs ahead over everything buffered; the original is unchanged.
  ChunkedDecoder d(0, kLine);
  ChunkedDecoder checker = d;
  checker.skip("5\r\nhello\r\n3\r\nabcXX");
  EXPECT_TRUE(checker.failed());
  EXPECT_FALSE(d.failed());
  const auto step = d.next("5\r\nhello\r\n", kAll);
  EXPECT_EQ(step.data, "hello");
}

TEST(ChunkedDecoderTest, ChunkLineOverTheLimitIs431) {
  const std::string ext = ";e=" + std::string(kLine, 'x');
  Decoded d = decode("5" + ext + "\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(d.status, 431);
  EXPECT_EQ(d.error, "chunk line too large");
  // Leading zeros count too: the line, not the number, is bounded.
  d = decode(std::string(kLine + 1, '0') + "5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(d.status, 431);
  // Each line on its own: many lines just under the limit are fine.
  std::string wire;
  const std::string just_under = "1;e=" + std::string(kLine - 6, 'x') + "\r\n";
  for (int i = 0; i < 10; ++i) wire += just_under + "a\r\n";
  d = decode(wire + "0\r\n\r\n");
  EXPECT_TRUE(d.done) << d.error;
  EXPECT_EQ(d.body, "aaaaaaaaaa");
}

TEST(ChunkedDecoderTest, TrailerSectionOverTheLimitIs431) {
  // The whole section is bounded, not each line: many small trailers add up.
  std::string trailers;
  for (int i = 0; i < 10; ++i) trailers += "X-" + std::to_string(i) + ": v\r\n";
  const Decoded d = decode("0\r\n" + trailers + "\r\n");
  EXPECT_EQ(d.status, 431);
  EXPECT_EQ(d.error, "trailer section too large");
  EXPECT_TRUE(decode("0\r\nX-A: 1\r\nX-B: 2\r\n\r\n").done);
}

TEST(ChunkedDecoderTest, BodyOverTheLimitIs413AtTheSizeLineBeforeItsData) {
  // 8 + 3 = 11 > 10: refused when the second size is read, before any of its data.
  const std::string wire = "8\r\n12345678\r\n3\r\nabc\r\n0\r\n\r\n";
  const Decoded d = decode(wire, kAll, kAll, 10);
  EXPECT_EQ(d.status, 413);
  EXPECT_EQ(d.body, "12345678");
  EXPECT_EQ(d.consumed, std::string_view("8\r\n12345678\r\n3\r").size());  // up to the byte that failed
  EXPECT_TRUE(decode("8\r\n12345678\r\n2\r\nab\r\n0\r\n\r\n", kAll, kAll, 10).done);
  EXPECT_EQ(decode("fffffffffffffff\r\n", kAll, kAll, 10).status, 413);
}

}  // namespace
}  // namespace canaryd::proxy
