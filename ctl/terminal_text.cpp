#include "ctl/terminal_text.hpp"

#include <cstdio>

#include "weights/utf8.hpp"

namespace canaryd::ctl {
namespace {

using weights::decode_utf8;
using weights::is_control_character;

void append_hex_escape(std::string& out, const char* format, unsigned value) {
  char buf[8];
  std::snprintf(buf, sizeof buf, format, value);
  out += buf;
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto seq = decode_utf8(text, i);
    if (seq.length == 0) {
      append_hex_escape(out, "\\x%02x", static_cast<unsigned char>(text[i]));
      ++i;
      continue;
    }
    if (is_control_character(seq.code_point)) {
      switch (seq.code_point) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          append_hex_escape(out, seq.code_point < 0x80 ? "\\x%02x" : "\\u%04x", static_cast<unsigned>(seq.code_point));
      }
    } else {
      out.append(text.substr(i, seq.length));
    }
    i += seq.length;
  }
  return out;
}

std::string json_for_terminal(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (std::size_t i = 0; i < json.size();) {
    const auto seq = decode_utf8(json, i);
    if (seq.length == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    const char32_t cp = seq.code_point;
    if (is_control_character(cp) && cp != '\t' && cp != '\n' && cp != '\r') {
      append_hex_escape(out, "\\u%04x", static_cast<unsigned>(cp));
    } else {
      out.append(json.substr(i, seq.length));
    }
    i += seq.length;
  }
  return out;
}

}  // namespace canaryd::ctl
