// canaryctl's repeating commands: `status --watch` and `rollout status --watch` (a frame every second)
// and `wait` (a poll every second until reached, failed or timed out).
#pragma once

#include <ostream>

#include "ctl/options.hpp"
#include "ctl/pacer.hpp"
#include "ctl/settings.hpp"
#include "ctl/transport.hpp"

namespace canaryd::ctl {

/// True for the invocations run_live handles.
bool is_live(const Invocation& invocation);

/// Runs a watch or a wait and returns the exit status. The first call decides 3 (unreachable) or 1
/// (refused); later, an unreachable server (canaryd restarting) is shown and retried, while the wait's
/// timeout still bounds it.
int run_live(const Invocation& invocation, const Connection& connection, Transport& transport, Pacer& pacer,
             std::ostream& out, std::ostream& err);

}  // namespace canaryd::ctl
