// Where a rollout stands, as the routing state carries it: the plan, the phase, the current step, the
// pause deadline or the pause time left, the reason, the replica that drives it. Stored with each
// revision (the routing state's JSON), so a restart, a hot upgrade and every replica sharing the
// ConfigMap see the same rollout; each step and each pause/resume is a revision.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "boost/json/value.hpp"
#include "config/result.hpp"
#include "config/rollout_plan.hpp"

namespace canaryd::weights {

/// GET /api/rollout's phases but "none" (no record at all).
enum class RolloutPhase : std::uint8_t { Progressing, Paused, Completed, Aborted };
const char* phase_name(RolloutPhase phase);
std::optional<RolloutPhase> parse_phase(std::string_view text);

struct RolloutRecord {
  config::RolloutPlan plan;
  RolloutPhase phase = RolloutPhase::Progressing;
  unsigned step = 1;  ///< the step in force, from 1; steps() when completed
  /// Progressing: when the step's pause ends (wall clock, so every replica and a restart agree; a
  /// restart neither resets nor extends it). Absent while paused, and once finished.
  std::optional<std::chrono::system_clock::time_point> pause_until;
  /// Paused by /pause in the middle of a timed pause: what was left of it (resume restarts the clock
  /// with it). Absent for a manual pause.
  std::optional<std::chrono::milliseconds> pause_left;
  std::string reason;  ///< why it is where it is: "paused by operator", "promoted", an abort's reason
  std::string driver;  ///< the replica that moves the steps (see rollout_transitions.hpp)
  std::uint64_t started_revision = 0;  ///< the revision that started it: names the rollout

  unsigned steps() const { return static_cast<unsigned>(plan.steps.size()); }
  bool active() const { return phase == RolloutPhase::Progressing || phase == RolloutPhase::Paused; }
  bool operator==(const RolloutRecord&) const = default;
};

/// The record in the state file's JSON: {"plan" (rollout_plan_json.hpp: weights as percent numbers,
/// durations as text "2m"), "phase", "step", "pause_until" (RFC 3339 UTC, with milliseconds when there
/// are any) and "pause_left_ms" when set, "reason", "driver", "started_revision"}, and back, checked
/// (the plan valid, the phase known, the step within 1..steps); the error names the field under `where`.
boost::json::object rollout_to_json(const RolloutRecord& r);
Result<RolloutRecord> rollout_from_json(const boost::json::value& v, const std::string& where);

}  // namespace canaryd::weights
