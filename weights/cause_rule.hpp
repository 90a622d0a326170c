// What a recorded cause may be (contract section 7, "Scripts"): at most 1,024 bytes of UTF-8 without
// control characters, so that a cause always fits the state's size bound and can never forge a row of
// `canaryctl history` or drive a terminal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace canaryd::weights {

inline constexpr std::size_t kMaxCauseBytes = 1024;

/// Why `cause` cannot be recorded ("longer than 1024 bytes (N)", "not valid UTF-8 at byte N", "control
/// character U+000A at byte N"), or "" when it can. Any thread.
std::string cause_problem(std::string_view cause);

}  // namespace canaryd::weights
