// `canaryctl completion bash|zsh`: the shell completion scripts, built from canaryctl's own command and
// option tables so that a new command or option is completed without editing a script.
#pragma once

#include <string>
#include <string_view>

namespace canaryd::ctl {

/// The completion script for `shell` ("bash" or "zsh"); empty for another shell. Neither script needs
/// the bash-completion package or anything but the shell itself.
std::string completion_script(std::string_view shell);

}  // namespace canaryd::ctl
