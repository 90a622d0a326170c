// The escaping of server text for a terminal (see terminal_text.hpp).
#include "ctl/terminal_text.hpp"

#include <cstdio>

#include "weights/utf8.hpp"

namespace canaryd::ctl {
namespace {

using weights::decode_utf8;
using weights::is_control_character;
using weights::Utf8Sequence;

void append_hex_escape(std::string& out, const char* format, unsigned value) {
  char buf[8];
  std::snprintf(buf, sizeof buf, format, value);
  out += buf;
}

/// Copies `text`, except where `escape(out, seq, first_byte)` writes a replacement and returns true; it
/// sees every character and every byte that is not valid UTF-8 (seq.length 0, one byte at a time).
template <class Escape>
std::string copy_escaping(std::string_view text, Escape escape) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const Utf8Sequence seq = decode_utf8(text, i);
    const std::size_t length = seq.length == 0 ? 1 : seq.length;
    if (!escape(out, seq, static_cast<unsigned char>(text[i]))) out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

}  // namespace

std::string printable(std::string_view text) {
  return copy_escaping(text, [](std::string& out, const Utf8Sequence& seq, unsigned char byte) {
    if (seq.length == 0) {
      append_hex_escape(out, "\\x%02x", byte);
      return true;
    }
    if (!is_control_character(seq.code_point)) return false;
    switch (seq.code_point) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        append_hex_escape(out, seq.code_point < 0x80 ? "\\x%02x" : "\\u%04x", static_cast<unsigned>(seq.code_point));
    }
    return true;
  });
}

std::string json_for_terminal(std::string_view json) {
  return copy_escaping(json, [](std::string& out, const Utf8Sequence& seq, unsigned char) {
    if (seq.length == 0) {
      out += "\\ufffd";
      return true;
    }
    const char32_t cp = seq.code_point;
    if (!is_control_character(cp) || cp == '\t' || cp == '\n' || cp == '\r') return false;
    append_hex_escape(out, "\\u%04x", static_cast<unsigned>(cp));
    return true;
  });
}

}  // namespace canaryd::ctl
