// The chunked body decoder of chunked_decoder.hpp: a byte-at-a-time state machine for the framing.
#include "proxy/http/chunked_decoder.hpp"

#include <algorithm>
#include <limits>

#include "proxy/http/http_text.hpp"

namespace canaryd::proxy {
namespace {

int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_ws(unsigned char c) { return c == ' ' || c == '\t'; }
bool is_tchar(unsigned char c) { return http_text::kTchar[c]; }

// RFC 9110 5.6.4 qdtext, and what may follow a backslash in a quoted-pair.
bool is_qdtext(unsigned char c) { return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c != 0x5c && c != 0x7f); }
bool is_quoted_pair_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

}  // namespace

bool ChunkedDecoder::fail(int status, const char* why) {
  state_ = State::Failed;
  error_status_ = status;
  error_ = why;
  return false;
}

bool ChunkedDecoder::end_chunk_line() {
  line_ = 0;
  if (size_ == 0) {
    state_ = State::TrailerStart;
    return true;
  }
  if (max_body_ != 0 && size_ > max_body_ - body_) return fail(413, "request body too large");
  body_ += size_;
  remaining_ = size_;
  state_ = State::Data;
  return true;
}

bool ChunkedDecoder::item_end(unsigned char c, const char* otherwise) {
  if (c == ';') {
    name_started_ = false;
    state_ = State::ExtName;
    return true;
  }
  if (c == '\r') {
    state_ = State::LineLf;
    return true;
  }
  return fail(400, c == '\n' ? "bare LF in chunk line" : otherwise);
}

bool ChunkedDecoder::framing(unsigned char c) {
  const bool in_trailer = state_ >= State::TrailerStart;
  if (++line_ > max_line_)
    return fail(431, in_trailer ? "trailer section too large" : "chunk line too large");
  if (state_ < State::Data) return chunk_line_byte(c);
  if (in_trailer) return trailer_byte(c);
  switch (state_) {
    case State::DataCr:
      if (c != '\r') return fail(400, "chunk data not followed by CRLF");
      state_ = State::DataLf;
      return true;
    case State::DataLf:
      if (c != '\n') return fail(400, "chunk data not followed by CRLF");
      state_ = State::Size;
      size_ = 0;
      digits_ = 0;
      line_ = 0;
      return true;
    default:
      break;
  }
  return false;
}

bool ChunkedDecoder::chunk_line_byte(unsigned char c) {
  switch (state_) {
    case State::Size: {
      const int digit = hex_value(c);
      if (digit >= 0) {
        if (size_ > std::numeric_limits<std::uint64_t>::max() >> 4) return fail(400, "chunk size too large");
        size_ = size_ << 4 | static_cast<unsigned>(digit);
        ++digits_;
        return true;
      }
      if (digits_ == 0) return fail(400, "invalid chunk size");
      if (!is_ws(c)) return item_end(c, "invalid chunk size");
      state_ = State::SizeEnd;
      return true;
    }
    case State::LineLf:
      if (c != '\n') return fail(400, "bare CR in chunk line");
      return end_chunk_line();
    default:
      return extension_byte(c);
  }
}

bool ChunkedDecoder::extension_byte(unsigned char c) {
  switch (state_) {
    case State::SizeEnd:
    case State::ExtAfterName:
    case State::ExtAfterValue:
      // BWS, then the next extension (or "=" after a name); whitespace before the CRLF is tolerated.
      if (is_ws(c)) return true;
      if (c != '=' || state_ != State::ExtAfterName) return item_end(c, "invalid chunk extension");
      state_ = State::ExtValue;
      return true;
    case State::ExtName:
      if (is_tchar(c)) {
        name_started_ = true;
        return true;
      }
      if (is_ws(c)) {
        if (name_started_) state_ = State::ExtAfterName;  // before the name it is BWS after ";"
        return true;
      }
      if (!name_started_) return fail(400, "invalid chunk extension");
      if (c != '=') return item_end(c, "invalid chunk extension");
      state_ = State::ExtValue;
      return true;
    case State::ExtValue:
      if (is_ws(c)) return true;
      if (c != '"' && !is_tchar(c)) return fail(400, "invalid chunk extension");
      state_ = c == '"' ? State::ExtQuoted : State::ExtToken;
      return true;
    case State::ExtToken:
      if (is_tchar(c)) return true;
      if (!is_ws(c)) return item_end(c, "invalid chunk extension");
      state_ = State::ExtAfterValue;
      return true;
    case State::ExtQuoted:
      if (c == '"') {
        state_ = State::ExtAfterValue;
      } else if (c == '\\') {
        state_ = State::ExtEscape;
      } else if (!is_qdtext(c)) {
        return fail(400, "control character in chunk extension");
      }
      return true;
    case State::ExtEscape:
      if (!is_quoted_pair_char(c)) return fail(400, "control character in chunk extension");
      state_ = State::ExtQuoted;
      return true;
    default:
      break;
  }
  return false;
}

bool ChunkedDecoder::trailer_byte(unsigned char c) {
  switch (state_) {
    case State::TrailerStart:
      // Whitespace here is obs-fold, a colon an empty name.
      if (c != '\r' && !is_tchar(c)) return fail(400, "invalid trailer field");
      state_ = c == '\r' ? State::FinalLf : State::TrailerName;
      return true;
    case State::TrailerName:
      if (c == ':') {
        state_ = State::TrailerValue;
      } else if (!is_tchar(c)) {
        return fail(400, "invalid trailer field");
      }
      return true;
    case State::TrailerValue:
      if (c == '\r') {
        state_ = State::TrailerLf;
      } else if (c != '\t' && (c < 0x20 || c == 0x7f)) {
        return fail(400, "control character in trailer field");
      }
      return true;
    case State::TrailerLf:
      if (c != '\n') return fail(400, "bare CR in trailer section");
      state_ = State::TrailerStart;
      return true;
    case State::FinalLf:
      if (c != '\n') return fail(400, "bare CR in trailer section");
      state_ = State::Done;
      return true;
    default:
      break;
  }
  return false;
}

ChunkedDecoder::Step ChunkedDecoder::next(std::string_view in, std::size_t max_data) {
  Step step;
  std::size_t i = 0;
  while (i < in.size() && state_ != State::Done && state_ != State::Failed) {
    if (state_ == State::Data) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>({remaining_, in.size() - i, max_data}));
      if (n == 0) break;
      step.data = in.substr(i, n);
      i += n;
      remaining_ -= n;
      if (remaining_ == 0) state_ = State::DataCr;
      break;
    }
    if (!framing(static_cast<unsigned char>(in[i]))) break;
    ++i;
  }
  step.consumed = i;
  return step;
}

std::size_t ChunkedDecoder::skip(std::string_view in) {
  std::size_t used = 0;
  while (used < in.size()) {
    const Step step = next(in.substr(used), std::numeric_limits<std::size_t>::max());
    if (step.consumed == 0) break;
    used += step.consumed;
  }
  return used;
}

}  // namespace canaryd::proxy
