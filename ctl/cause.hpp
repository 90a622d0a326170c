// The cause canaryctl records for a change when the operator gives none: the command line, shell-quoted,
// made printable and cut to the server's bound.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace canaryd::ctl {

/// One word quoted for a POSIX shell only when it needs it: `weight` stays as it is,
/// `version in (v3)` becomes `'version in (v3)'`, so a recorded cause can be pasted back.
std::string shell_quote(std::string_view word);

/// The default change cause, like `kubectl --record`: "canaryctl" and the words (quoted when needed),
/// always one the server accepts: control characters and invalid UTF-8 escaped visibly (\n, \x1b), cut
/// at a character boundary to the cause's 1,024 bytes.
std::string command_line_cause(const std::vector<std::string>& words);

}  // namespace canaryd::ctl
