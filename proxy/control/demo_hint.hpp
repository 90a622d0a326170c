// What `canaryd --demo` prints once it listens: the commands to try, each runnable as printed (canaryctl
// by the path it has from the demo's directory, unless PATH finds that very file).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace canaryd::proxy {

/// How a shell in `cwd` runs the `canaryctl` file: "canaryctl" when the first canaryctl on `path_env`
/// (PATH) is that file, else its path: "./sub/dir/canaryctl" below `cwd`, absolute elsewhere; shell-quoted
/// when it holds characters a shell would take apart.
std::string canaryctl_command(const std::filesystem::path& canaryctl, const std::filesystem::path& cwd,
                              std::string_view path_env);

/// The demo's hints. `canaryctl`: how to run canaryctl (canaryctl_command); `install_from`: how to name
/// the build tree canaryd runs from, for a `cmake --install` line, or empty (not run from a build tree,
/// or canaryctl is on PATH already). The commands to run are the lines indented by two spaces.
std::string demo_hint(const std::string& canaryctl, const std::string& install_from);

/// demo_hint for the canaryd running now: canaryctl beside `exe` (this canaryd's file), seen from the
/// working directory with the process's PATH.
std::string demo_hint_for(const std::filesystem::path& exe);

}  // namespace canaryd::proxy
