#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace canaryd::ctl {

/// The text without leading and trailing whitespace (a token file usually ends with a newline).
std::string trim_whitespace(std::string_view text);

/// Reads a token file, trimmed. On failure sets `error` (naming the file) and returns nullopt.
std::optional<std::string> read_token_file(const std::string& path, std::string& error);

}  // namespace canaryd::ctl
