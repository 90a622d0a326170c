// The SIGHUP policy: what a reload may change in the running process and what waits for a restart,
// decided from the running config and the new one alone, so that it is tested without a process.
#pragma once

#include <optional>
#include <string>

#include "config/config.hpp"
#include "weights/routing_state.hpp"

namespace canaryd::proxy {

/// What a reload does with a new config that loaded. The files it names (token, certificates) are read
/// by the caller afterwards: the plan decides only what the two configs decide.
struct ReloadPlan {
  /// Set: the reload is refused with this log line, and the running configuration stays in force.
  std::optional<std::string> refusal;
  /// The "takes effect at the next restart" lines. Each is logged where today's reload reaches it:
  /// the discovery line before the refusal (if any) and before the token file is read, the listen line
  /// before the certificates are loaded, the control line once they are.
  std::optional<std::string> discovery_notice;
  std::optional<std::string> listen_notice;
  std::optional<std::string> control_notice;
  /// Unless refused, what is applied: the new config, with what only a restart changes kept from the
  /// running one (listen addresses, control address, threads, state_file; with discovery, the pods it
  /// knows).
  config::Config next;
};

/// `path`: the config file, as the log lines name it. `current`: the routing state in force, whose
/// stable and canary sets the new service.selector must keep apart.
ReloadPlan plan_reload(const config::Config& running, config::Config next, const weights::RoutingState& current,
                       const std::string& path);

}  // namespace canaryd::proxy
