// Test helper: a raw header block with its controls escaped, for readable failure messages.
#pragma once

#include <string>
#include <string_view>

namespace canaryd::proxy::testing {

/// A raw header block as failure messages show it: CR, LF, TAB, NUL and other controls escaped.
inline std::string printable(std::string_view raw) {
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

}  // namespace canaryd::proxy::testing
