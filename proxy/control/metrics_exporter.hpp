// The /metrics page: contract section 5's and section 7's (rollout) metric families, the state and process families, in Prometheus text format, summed over workers.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/dataplane/routing_snapshot.hpp"

namespace canaryd::proxy {

class Worker;

/// What Kubernetes discovery reports, when it runs.
struct DiscoveryMetrics {
  bool api_reachable = false;
  std::uint64_t lists = 0;  ///< successful pod lists: the first one and every relist
};

/// Where the rollout stands, for contract section 7's rollout families.
struct RolloutMetrics {
  std::string_view phase = "none";  ///< none|progressing|paused|completed|aborted
  unsigned step = 0;                ///< the step in force, from 1; 0 without a rollout
  std::uint64_t aborts = 0;         ///< rollouts this process aborted since it started
};

/// SIGHUP reloads since the process started: applied, or refused with the running configuration kept.
struct ReloadCounts {
  std::uint64_t success = 0;
  std::uint64_t failure = 0;
};

/// One set that serves now, for canaryd_set_info{set, selector}.
struct SetInfo {
  std::string set;       ///< stable|canary
  std::string selector;  ///< the pods it serves, as Kubernetes label selector text (service.selector joined)
};

/// What the main thread knows beyond the workers, the snapshot and the rollout: the sets in force, the
/// time of the routing state's current revision, the reloads.
struct StateMetrics {
  std::vector<SetInfo> sets;
  double last_change_seconds = 0;  ///< the current revision's time, seconds since the Unix epoch
  ReloadCounts reloads;
};

/// The phases canaryd_rollout_phase has a series for, in order.
inline constexpr std::array<std::string_view, 5> kRolloutPhaseNames = {"none", "progressing", "paused", "completed",
                                                                       "aborted"};

/// Renders contract sections 5 and 7 in the Prometheus text format (prometheus-cpp's TextSerializer),
/// summing the per-worker counters at scrape time, plus the discovery families when `discovery` is
/// given, the state families from `state`, canaryd_access_log_dropped_total, and the process_* families
/// read from /proc now. Every series exists from the start, zero-valued until its first event. Main
/// thread only.
std::string render_metrics(const std::vector<std::unique_ptr<Worker>>& workers, const RoutingSnapshot& snapshot,
                           const RolloutMetrics& rollout, const DiscoveryMetrics* discovery = nullptr,
                           const StateMetrics& state = {}, std::uint64_t access_log_dropped = 0);

}  // namespace canaryd::proxy
