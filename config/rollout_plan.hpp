// A rollout plan (contract section 7): the steps canaryd walks through by itself (a weight, a pause,
// the promote) and the settings of the analysis that may abort it. Plain values shared by the YAML
// config (`rollout:`), the control API's JSON body and the routing state that persists a running plan.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "config/result.hpp"
#include "config/weight.hpp"

namespace canaryd::config {

/// A plan's `analysis:` map; the defaults are the contract's (a key left out takes its default).
struct AnalysisSettings {
  std::chrono::milliseconds interval{10'000};  // between threshold checks
  std::chrono::milliseconds window{60'000};
  std::uint64_t min_requests = 50;  // canary requests in the window before a threshold check runs
  double max_error_rate = 1;        // percent of canary responses
  double max_error_ratio = 2;       // the judge's null: canary error rate <= this x stable's
  double alpha = 0.01;
  double max_p99_ratio = 1.5;
  unsigned failure_limit = 2;

  bool operator==(const AnalysisSettings&) const = default;
};

/// The largest min_requests and failure_limit a plan may ask for.
inline constexpr std::uint64_t kMaxMinRequests = 1'000'000'000;
inline constexpr unsigned kMaxFailureLimit = 1000;

/// Why settings cannot be analysed, e.g. "analysis.alpha: must be between 0 and 1 (exclusive)" (the
/// path starts at `analysis`; a caller prefixes where the map was, e.g. "rollout.").
Result<void> validate(const AnalysisSettings& settings);

/// How a step waits before the next one.
enum class PauseKind : std::uint8_t {
  None,    ///< no pause: the next step follows (once the analysis, if any, passes)
  Timed,   ///< `pause: 2m`
  Manual,  ///< `pause: manual`: waits for POST /api/rollout/resume
};

/// One step: `{weight: 5, pause: 2m}`, `{weight: 25, pause: manual}`, `{pause: 1m}`, `{promote: true}`.
struct RolloutStep {
  std::optional<BasisPoints> weight;  ///< absent: the weight stays as it is
  PauseKind pause = PauseKind::None;
  std::chrono::milliseconds pause_for{0};  ///< for PauseKind::Timed; positive
  bool promote = false;                    ///< `{promote: true}`: alone, and only as the last step

  bool operator==(const RolloutStep&) const = default;
};

/// At most this many steps in one plan (it is stored with every revision while it runs).
inline constexpr std::size_t kMaxRolloutSteps = 32;
/// The longest timed pause: a week.
inline constexpr std::chrono::milliseconds kMaxRolloutPause{7LL * 24 * 3600 * 1000};

struct RolloutPlan {
  std::vector<RolloutStep> steps;
  std::optional<AnalysisSettings> analysis;  ///< absent: no automatic abort, steps advance on pauses alone

  bool operator==(const RolloutPlan&) const = default;
};

/// Why a plan cannot run, naming the field from `steps`/`analysis` on, e.g. "steps[2].pause: must be a
/// duration like 2m, or manual" or "steps[1]: promote must be the last step". Rules: 1..kMaxRolloutSteps
/// steps; each step has a weight (0-100), a pause, or is `promote: true` alone; promote only last; a
/// timed pause positive and at most kMaxRolloutPause; the analysis valid.
Result<void> validate(const RolloutPlan& plan);

}  // namespace canaryd::config
