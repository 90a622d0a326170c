// UTF-8 decoding shared by everything that must judge text byte by byte: the JSON writer (invalid
// sequences become U+FFFD), the cause rule (valid UTF-8 without control characters) and canaryctl's
// output escaping.
#pragma once

#include <cstddef>
#include <string_view>

namespace canaryd::weights {

/// One UTF-8 sequence: its length in bytes (0 when the bytes at that position are not valid UTF-8)
/// and the code point it encodes.
struct Utf8Sequence {
  std::size_t length = 0;
  char32_t code_point = 0;
};

/// Decodes the sequence starting at s[i] (i < s.size()). Overlong forms, surrogates, code points above
/// U+10FFFF and sequences cut off by the end of `s` are invalid.
Utf8Sequence decode_utf8(std::string_view s, std::size_t i);

/// C0 (U+0000..U+001F), DEL (U+007F) and C1 (U+0080..U+009F): the characters a terminal may act on.
constexpr bool is_control_character(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

/// The longest prefix of the valid UTF-8 text `s` of at most `max_bytes` bytes that does not end inside
/// a sequence.
std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes);

}  // namespace canaryd::weights
