// canaryctl's whole behaviour behind main(): one invocation from arguments, environment and a transport
// to output and exit status.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "ctl/pacer.hpp"
#include "ctl/settings.hpp"
#include "ctl/transport.hpp"

namespace canaryd::ctl {

/// Exit statuses of contract section 1.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRefused = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

/// Runs one canaryctl invocation (`args` without the program name) and returns its exit status.
/// All I/O goes through the parameters, so tests pass a fake transport and string streams.
/// `pacer` paces the repeating commands (status --watch, rollout status --watch, wait); the overload
/// without it uses the real clocks and appends frames.
int run(const std::vector<std::string>& args, const Environment& env, Transport& transport, std::ostream& out,
        std::ostream& err, Pacer& pacer);
int run(const std::vector<std::string>& args, const Environment& env, Transport& transport, std::ostream& out,
        std::ostream& err);

}  // namespace canaryd::ctl
