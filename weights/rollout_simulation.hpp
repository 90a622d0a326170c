// A seeded simulation of the rollout analysis with a fake clock, for the figures the analysis must
// meet (time to abort a bad canary, false aborts of a healthy one) and, in the same harness, a
// Flagger-style threshold rule to compare with. One-second intervals with binomial draws, so an hour
// of 500 req/s costs milliseconds. Single-threaded and deterministic for a seed.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "config/weight.hpp"
#include "weights/rollout_analysis.hpp"

namespace canaryd::weights {

/// One set's simulated behaviour: an error rate and a log-normal latency.
struct SimulatedSet {
  double error_rate = 0.005;  // fraction of responses that are errors
  double latency_median_ms = 20;
  double latency_sigma = 0.5;  // of log(latency); 0.5 puts p99 at about 3.2 x the median
};

struct SimulationScenario {
  double requests_per_second = 50;  // Poisson arrivals, all placed by the weight
  config::BasisPoints canary_weight = 1000;
  SimulatedSet stable;
  SimulatedSet canary;
  std::chrono::seconds duration{3600};
  AnalysisSettings analysis;
};

/// Seconds from the start to the abort, for the analysis and the threshold rule; none: never.
struct RunOutcome {
  std::optional<double> analysis_abort;
  std::optional<double> threshold_rule_abort;
};

/// Precondition: validate(scenario.analysis) passed.
RunOutcome simulate_run(const SimulationScenario& scenario, std::uint64_t seed);

/// Over many runs: how many aborted, and the median and 95th percentile of the time to abort over
/// ALL runs (nearest rank; a run that never aborted counts as never, so a quantile that falls on one
/// is none).
struct AbortSummary {
  unsigned runs = 0;
  unsigned aborts = 0;
  std::optional<double> median;
  std::optional<double> p95;
};

struct ScenarioSummary {
  AbortSummary analysis;
  AbortSummary threshold_rule;
};

/// Runs seeds first_seed .. first_seed + runs - 1.
ScenarioSummary simulate(const SimulationScenario& scenario, unsigned runs, std::uint64_t first_seed);

/// The comparison: Flagger's default shape, a check every minute of the canary's success rate over
/// that minute (>= 99 %, no minimum of requests; a minute without canary requests is no check), and an
/// abort after 5 failed checks in total.
class ThresholdRule {
 public:
  /// Feeds one second's canary counts; true once the rule aborts.
  bool observe(std::chrono::seconds end, std::uint64_t canary_requests, std::uint64_t canary_errors);

 private:
  std::uint64_t requests_ = 0;
  std::uint64_t errors_ = 0;
  unsigned failed_checks_ = 0;
};

}  // namespace canaryd::weights
