// Durations as the config writes them (`250ms`, `2s`, `1m`, `1h`): parsed to milliseconds and printed back.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace canaryd::config {

/// Parses `250ms`, `2s`, `1m`, `1h` (a positive integer and a unit; `0s` is allowed).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Prints a duration in the largest unit that is exact: `250ms`, `2s`, `1m`.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace canaryd::config
