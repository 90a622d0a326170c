// The check of a recorded cause's length, UTF-8 and control characters (see cause_rule.hpp).
#include "weights/cause_rule.hpp"

#include <cstdio>

#include "weights/utf8.hpp"

namespace canaryd::weights {

std::string cause_problem(std::string_view cause) {
  if (cause.size() > kMaxCauseBytes) {
    return "longer than " + std::to_string(kMaxCauseBytes) + " bytes (" + std::to_string(cause.size()) + ")";
  }
  for (std::size_t i = 0; i < cause.size();) {
    const Utf8Sequence seq = decode_utf8(cause, i);
    if (seq.length == 0) return "not valid UTF-8 at byte " + std::to_string(i);
    if (is_control_character(seq.code_point)) {
      char name[16];
      std::snprintf(name, sizeof name, "U+%04X", static_cast<unsigned>(seq.code_point));
      return "control character " + std::string(name) + " at byte " + std::to_string(i);
    }
    i += seq.length;
  }
  return {};
}

}  // namespace canaryd::weights
