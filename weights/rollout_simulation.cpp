// The rollout simulation: one-second intervals of binomial draws fed to the analysis and the rule.
#include "weights/rollout_simulation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace canaryd::weights {
namespace {

constexpr std::chrono::seconds kStep{1};
constexpr std::chrono::seconds kRuleInterval{60};
constexpr double kRuleMinSuccessRate = 0.99;
constexpr unsigned kRuleFailedChecks = 5;

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

std::uint64_t binomial(std::uint64_t n, double p, std::mt19937_64& rng) {
  return n == 0 ? 0 : std::binomial_distribution<std::uint64_t>(n, p)(rng);
}

// Draws an interval's latency histogram without drawing each latency: the bucket counts are a
// multinomial, drawn exactly as conditional binomials. The tail (the slowest buckets holding the top
// 20 % of the probability, from where it is 1e-12) is drawn bucket by bucket, most probable first, so
// a few requests are placed after a few draws; the body (below the 80th percentile) all goes into the
// median's bucket. Only the tail matters to the analysis (the p99 and the counts above it), and its
// counts have exactly the distribution per-request draws would give.
class LatencySampler {
 public:
  explicit LatencySampler(const SimulatedSet& set) {
    const double mu = std::log(set.latency_median_ms * 1000.0);
    const auto cdf = [&](double micros) { return normal_cdf((std::log(micros) - mu) / set.latency_sigma); };
    body_ = latency_bucket(static_cast<std::uint64_t>(std::exp(mu)));
    for (std::size_t i = kLatencyBuckets; i-- > body_ + 1 && tail_mass_ < 0.2;) {
      const auto upper = latency_bucket_upper(i);
      const double mass = (upper ? cdf(static_cast<double>(*upper)) : 1.0) - cdf(static_cast<double>(latency_bucket_lower(i)));
      if (mass < 1e-12 && tail_.empty()) continue;  // no draw for buckets nothing reaches
      tail_.push_back({i, mass});
      tail_mass_ += mass;
    }
    std::reverse(tail_.begin(), tail_.end());
  }

  void draw(std::uint64_t n, LatencyHistogram& out, std::mt19937_64& rng) const {
    std::uint64_t in_tail = binomial(n, tail_mass_, rng);
    out.counts[body_] += n - in_tail;
    double left = tail_mass_;
    for (std::size_t i = 0; i < tail_.size() && in_tail > 0; ++i) {
      const bool last = i + 1 == tail_.size();
      const std::uint64_t x = last ? in_tail : binomial(in_tail, std::clamp(tail_[i].mass / left, 0.0, 1.0), rng);
      out.counts[tail_[i].bucket] += x;
      in_tail -= x;
      left -= tail_[i].mass;
    }
  }

 private:
  struct TailBucket {
    std::size_t bucket;
    double mass;
  };
  std::vector<TailBucket> tail_;  // most probable (nearest the body) first
  double tail_mass_ = 0;
  std::size_t body_ = 0;
};

SetEvidence draw_set(std::uint64_t requests, const SimulatedSet& set, const LatencySampler& latency,
                     std::mt19937_64& rng) {
  SetEvidence evidence;
  evidence.requests = requests;
  evidence.errors = binomial(requests, set.error_rate, rng);
  latency.draw(requests, evidence.latency, rng);
  return evidence;
}

AbortSummary summarize(std::vector<double> times) {
  AbortSummary summary;
  summary.runs = static_cast<unsigned>(times.size());
  summary.aborts = static_cast<unsigned>(std::count_if(times.begin(), times.end(), [](double t) { return std::isfinite(t); }));
  std::sort(times.begin(), times.end());
  const auto rank = [&](double q) -> std::optional<double> {
    if (times.empty()) return std::nullopt;
    const auto index = static_cast<std::size_t>(std::ceil(q * static_cast<double>(times.size()))) - 1;
    const double t = times[std::min(index, times.size() - 1)];
    return std::isfinite(t) ? std::optional<double>(t) : std::nullopt;
  };
  summary.median = rank(0.5);
  summary.p95 = rank(0.95);
  return summary;
}

}  // namespace

bool ThresholdRule::observe(std::chrono::seconds end, std::uint64_t canary_requests, std::uint64_t canary_errors) {
  requests_ += canary_requests;
  errors_ += canary_errors;
  if (end.count() % kRuleInterval.count() != 0) return failed_checks_ >= kRuleFailedChecks;
  if (requests_ > 0) {
    const double success = 1.0 - static_cast<double>(errors_) / static_cast<double>(requests_);
    if (success < kRuleMinSuccessRate) ++failed_checks_;
  }
  requests_ = 0;
  errors_ = 0;
  return failed_checks_ >= kRuleFailedChecks;
}

RunOutcome simulate_run(const SimulationScenario& scenario, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const LatencySampler stable_latency(scenario.stable);
  const LatencySampler canary_latency(scenario.canary);
  auto analysis = RolloutAnalysis::create(scenario.analysis).value();
  ThresholdRule rule;
  const double weight = static_cast<double>(scenario.canary_weight) / config::kMaxBasisPoints;
  const auto check_every = std::max<std::int64_t>(1, scenario.analysis.interval.count() / 1000);
  std::poisson_distribution<std::uint64_t> arrivals(scenario.requests_per_second * static_cast<double>(kStep.count()));
  RunOutcome outcome;
  for (auto now = kStep; now <= scenario.duration && !(outcome.analysis_abort && outcome.threshold_rule_abort);
       now += kStep) {
    const std::uint64_t requests = arrivals(rng);
    const std::uint64_t to_canary = binomial(requests, weight, rng);
    EvidenceInterval interval;
    interval.end = now;
    interval.canary_weight = scenario.canary_weight;
    interval.stable = draw_set(requests - to_canary, scenario.stable, stable_latency, rng);
    interval.canary = draw_set(to_canary, scenario.canary, canary_latency, rng);
    const auto seconds = static_cast<double>(now.count());
    if (!outcome.analysis_abort) {
      analysis.observe(interval);
      if (now.count() % check_every == 0) (void)analysis.check(now);
      if (analysis.abort_reason()) outcome.analysis_abort = seconds;
    }
    if (!outcome.threshold_rule_abort && rule.observe(now, interval.canary.requests, interval.canary.errors)) {
      outcome.threshold_rule_abort = seconds;
    }
  }
  return outcome;
}

ScenarioSummary simulate(const SimulationScenario& scenario, unsigned runs, std::uint64_t first_seed) {
  constexpr double kNever = std::numeric_limits<double>::infinity();
  std::vector<double> analysis;
  std::vector<double> rule;
  for (unsigned i = 0; i < runs; ++i) {
    const RunOutcome outcome = simulate_run(scenario, first_seed + i);
    analysis.push_back(outcome.analysis_abort.value_or(kNever));
    rule.push_back(outcome.threshold_rule_abort.value_or(kNever));
  }
  return {summarize(std::move(analysis)), summarize(std::move(rule))};
}

}  // namespace canaryd::weights
