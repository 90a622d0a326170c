// Shell quoting and the default `kubectl --record`-style cause of a change (see cause.hpp).
#include "ctl/cause.hpp"

#include <cctype>

#include "ctl/terminal_text.hpp"
#include "weights/cause_rule.hpp"
#include "weights/utf8.hpp"

namespace canaryd::ctl {
namespace {

bool shell_safe(char c) {
  if (std::isalnum(static_cast<unsigned char>(c)) != 0) return true;
  switch (c) {
    case '@': case '%': case '+': case '=': case ':': case ',': case '.': case '/': case '-': case '_':
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string shell_quote(std::string_view word) {
  bool safe = !word.empty();
  for (char c : word) safe = safe && shell_safe(c);
  if (safe) return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";  // close, escaped quote, reopen: the only way to put ' inside '...'
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

std::string command_line_cause(const std::vector<std::string>& words) {
  std::string out = "canaryctl";
  for (const auto& w : words) {
    out += ' ';
    out += shell_quote(w);
  }
  // The server refuses a cause with control characters, invalid UTF-8 or over the bound; a default the
  // operator did not write must never be the reason a change is refused.
  return std::string(weights::utf8_prefix(printable(out), weights::kMaxCauseBytes));
}

}  // namespace canaryd::ctl
