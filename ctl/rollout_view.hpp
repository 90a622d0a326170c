// What canaryctl reads of GET /api/rollout (contract section 7): the rollout's phase, step, pause,
// analysis and reason as a plain view, and its readable forms (`rollout status`, the confirmation of a
// rollout command).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/result.hpp"
#include "ctl/options.hpp"

namespace canaryd::ctl {

/// One set's figures in the analysis window; each may be null (no request yet).
struct SetFigures {
  std::optional<std::uint64_t> requests;
  std::optional<double> error_rate;  ///< percent of responses that were 5xx or upstream errors
  std::optional<double> p99_ms;
};

struct AnalysisView {
  SetFigures stable;
  SetFigures canary;
  std::string verdict;  ///< pass|fail|inconclusive, or empty
  std::optional<std::uint64_t> failures;
};

/// The GET /api/rollout document; every string made printable.
struct RolloutView {
  std::string phase;  ///< none|progressing|paused|completed|aborted
  std::optional<std::uint64_t> step;
  std::optional<std::uint64_t> steps;
  std::optional<double> canary_weight;
  std::string pause_until;  ///< RFC 3339 UTC; empty when null
  std::optional<AnalysisView> analysis;
  std::string reason;

  bool finished() const { return phase == "completed" || phase == "aborted" || phase == "none"; }
};

/// Parses the document; only "phase" is required. The error names what is malformed.
Result<RolloutView> parse_rollout(std::string_view json);

/// "2/4", or "" when the document has no step.
std::string step_fraction(const RolloutView& view);
/// "step 2/4", or "".
std::string step_text(const RolloutView& view);

/// The pause as an operator reads it at `now`: "until 10:00:00Z (1m20s left)", "manual: canaryctl
/// rollout resume continues", or "" when there is none.
std::string pause_text(const RolloutView& view, std::chrono::system_clock::time_point now);

/// "pass", "fail (2 failed checks)", or "" without an analysis.
std::string verdict_text(const RolloutView& view);

/// "0.5%", "12ms", "-" for a missing figure.
std::string error_rate_text(const std::optional<double>& percent);
std::string p99_text(const std::optional<double>& ms);

/// The readable `rollout status`.
std::string render_rollout(const RolloutView& view, std::chrono::system_clock::time_point now);

/// The one-line confirmation of a rollout command from the rollout document it answered.
std::string render_rollout_confirmation(Command command, const RolloutView& view);

}  // namespace canaryd::ctl
