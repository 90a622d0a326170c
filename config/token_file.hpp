// The one reader of bearer-token files, shared by canaryd (control.token_file) and canaryctl
// (--token-file), so that both agree on what a token file is. Kept out of the YAML model's library so
// that canaryctl can link it alone.
#pragma once

#include <string>
#include <string_view>

#include "config/result.hpp"

namespace canaryd::config {

enum class TokenFileAccess {
  /// The file must not be readable or writable by others (group access is fine: a Kubernetes Secret
  /// mounted 0440 with fsGroup). What canaryd requires of the secret it checks callers against.
  Private,
  /// Any mode: canaryctl reads its operator's file as it is, so that a file mode never stands between
  /// an operator and a rollback.
  AnyMode,
};

/// The text without leading and trailing whitespace (a token file usually ends with a newline).
std::string trim_token(std::string_view text);

/// Reads a token file: its content, trimmed. The mode is checked on the descriptor the token is read
/// from (fstat), so a file swapped after the check cannot slip through; a symlink to a good file is
/// fine. On failure the error is a message without the path ("the file is empty", "readable by everyone
/// (mode 0644); chmod o-rw it", ...).
Result<std::string> read_token_file(const std::string& path, TokenFileAccess access);

}  // namespace canaryd::config
