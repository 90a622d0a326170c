#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace canaryd::ctl {

/// One word quoted for a POSIX shell only when it needs it: `weight` stays as it is,
/// `version in (v3)` becomes `'version in (v3)'`, so a recorded cause can be pasted back.
std::string shell_quote(std::string_view word);

/// The default change cause, like `kubectl --record`: "canaryctl" and the words (quoted when needed).
std::string command_line_cause(const std::vector<std::string>& words);

}  // namespace canaryd::ctl
