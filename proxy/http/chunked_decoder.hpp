// A strict decoder of the chunked transfer coding of request bodies (RFC 9112 7.1), without I/O: it is
// fed bytes and says which of them are body data. Our own rather than Beast's so that every byte of
// framing is checked as the head is (CRLF only, extensions and trailers by their grammar), so that a
// copy of it can check what has arrived before anything is sent on, and so that chunk lines and
// trailers are bounded without buffering them (it never needs a byte twice).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace canaryd::proxy {

class ChunkedDecoder {
 public:
  /// `max_body`: the largest body allowed (0: no limit), checked against each chunk's declared size
  /// before its data; `max_line`: the largest chunk line (size and extensions) and trailer section.
  ChunkedDecoder(std::uint64_t max_body, std::size_t max_line) : max_body_(max_body), max_line_(max_line) {}

  /// One step over `in`: consumes framing up to the next body data, then at most `max_data` bytes of
  /// that data (`data`, a view into `in`), and stops there, at the end of `in`, at the end of the body
  /// or at an error. Bytes after the body are not consumed (they belong to the next request).
  struct Step {
    std::size_t consumed = 0;
    std::string_view data;
  };
  Step next(std::string_view in, std::size_t max_data);

  /// Consumes all of `in` that belongs to the body, data included; returns how much that was.
  std::size_t skip(std::string_view in);

  bool done() const { return state_ == State::Done; }
  bool failed() const { return state_ == State::Failed; }
  /// When failed: the status to answer (400 malformed, 413 over max_body, 431 over max_line) and why.
  int error_status() const { return error_status_; }
  const char* error() const { return error_; }

 private:
  enum class State {
    Size,          // chunk-size digits
    SizeEnd,       // after the digits: BWS ";" extension, or CRLF
    ExtName,       // before or in an extension's name
    ExtAfterName,  // BWS before "=" or ";"
    ExtValue,      // BWS before a value
    ExtToken,      // in a token value
    ExtQuoted,     // in a quoted-string value
    ExtEscape,     // after a backslash in a quoted-string
    ExtAfterValue, // BWS before the next ";"
    LineLf,        // the LF ending a chunk line
    Data,
    DataCr,        // the CRLF after a chunk's data
    DataLf,
    TrailerStart,  // a trailer field line, or the CRLF ending the body
    TrailerName,
    TrailerValue,
    TrailerLf,
    FinalLf,
    Done,
    Failed,
  };

  /// Takes one framing byte; false when the input is malformed (the decoder has then failed).
  bool framing(unsigned char c);
  // framing() by part of the body: a chunk line (size and extensions), and the trailer section.
  bool chunk_line_byte(unsigned char c);
  bool extension_byte(unsigned char c);
  bool trailer_byte(unsigned char c);
  bool fail(int status, const char* why);
  bool end_chunk_line();
  /// After a chunk line's size or an extension: ";" starts the next extension, CR ends the line;
  /// anything else fails with `otherwise`.
  bool item_end(unsigned char c, const char* otherwise);

  std::uint64_t max_body_;
  std::size_t max_line_;
  State state_ = State::Size;
  std::uint64_t size_ = 0;       // of the chunk being read
  std::uint64_t remaining_ = 0;  // of its data
  std::uint64_t body_ = 0;       // declared so far
  std::size_t digits_ = 0;
  bool name_started_ = false;
  std::size_t line_ = 0;  // bytes of the current chunk line, or of the trailer section
  int error_status_ = 0;
  const char* error_ = "";
};

}  // namespace canaryd::proxy
