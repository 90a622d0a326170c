// Text from the server made safe for a terminal: a cause, selector or error message with a newline or an
// escape sequence must not forge a row of `canaryctl history` or drive the terminal.
#pragma once

#include <string>
#include <string_view>

namespace canaryd::ctl {

/// `text` with every control character (C0, DEL, C1) and every byte that is not valid UTF-8 escaped
/// visibly: \n, \r, \t, \x1b, \u0085, \xff. Everything else, other UTF-8 included, stays as it is.
std::string printable(std::string_view text);

/// A JSON document as the server sent it, except that raw control characters and invalid UTF-8 become
/// \u escapes: the same document for any JSON reader (JSON allows DEL and C1 raw inside strings, and
/// allows nothing else raw anywhere but whitespace), but nothing a terminal acts on. Tab, LF and CR stay:
/// in valid JSON they can only be whitespace between tokens.
std::string json_for_terminal(std::string_view json);

}  // namespace canaryd::ctl
