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

// Binomial draws with a fixed p, fast where the simulation spends its time (a small mean: by inversion,
// one exp and a uniform, instead of a logarithm per geometric wait); the standard one elsewhere.
class Binomial {
 public:
  explicit Binomial(double p) : p_(std::clamp(p, 0.0, 1.0)), flip_(p_ > 0.5) {
    const double small = flip_ ? 1.0 - p_ : p_;
    log_q_ = std::log1p(-small);
    odds_ = small / (1.0 - small);
  }

  std::uint64_t operator()(std::uint64_t n, std::mt19937_64& rng) const {
    if (n == 0 || p_ == 0.0) return 0;
    if (p_ == 1.0) return n;
    const double small = flip_ ? 1.0 - p_ : p_;
    if (static_cast<double>(n) * small >= 10.0) return std::binomial_distribution<std::uint64_t>(n, p_)(rng);
    const std::uint64_t x = invert(n, rng);
    return flip_ ? n - x : x;
  }

 private:
  // The smallest x whose cumulative probability passes a uniform draw; pmf(x+1) = pmf(x) * odds * (n-x)/(x+1).
  std::uint64_t invert(std::uint64_t n, std::mt19937_64& rng) const {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    double pmf = std::exp(static_cast<double>(n) * log_q_);
    double cdf = pmf;
    std::uint64_t x = 0;
    while (u >= cdf && x < n) {
      pmf *= odds_ * static_cast<double>(n - x) / static_cast<double>(x + 1);
      ++x;
      cdf += pmf;
    }
    return x;
  }

  double p_;
  bool flip_;
  double log_q_ = 0;
  double odds_ = 0;
};

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
    double left = tail_mass_;
    for (const TailBucket& t : tail_) {
      given_tail_.emplace_back(t.mass / left);  // the bucket's chance, given the tail and not an earlier bucket
      left -= t.mass;
    }
    in_tail_ = Binomial(tail_mass_);
  }

  void draw(std::uint64_t n, LatencyHistogram& out, std::mt19937_64& rng) const {
    std::uint64_t in_tail = in_tail_(n, rng);
    out.counts[body_] += n - in_tail;
    for (std::size_t i = 0; i < tail_.size() && in_tail > 0; ++i) {
      const std::uint64_t x = i + 1 == tail_.size() ? in_tail : given_tail_[i](in_tail, rng);
      out.counts[tail_[i].bucket] += x;
      in_tail -= x;
    }
  }

 private:
  struct TailBucket {
    std::size_t bucket;
    double mass;
  };
  std::vector<TailBucket> tail_;  // most probable (nearest the body) first
  std::vector<Binomial> given_tail_;
  double tail_mass_ = 0;
  Binomial in_tail_{0.0};
  std::size_t body_ = 0;
};

// One set's simulated responses in an interval.
class SetSampler {
 public:
  explicit SetSampler(const SimulatedSet& set) : errors_(set.error_rate), latency_(set) {}

  SetEvidence draw(std::uint64_t requests, std::mt19937_64& rng) const {
    SetEvidence evidence;
    evidence.requests = requests;
    evidence.errors = errors_(requests, rng);
    latency_.draw(requests, evidence.latency, rng);
    return evidence;
  }

 private:
  Binomial errors_;
  LatencySampler latency_;
};

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
  const SetSampler stable(scenario.stable);
  const SetSampler canary(scenario.canary);
  auto analysis = RolloutAnalysis::create(scenario.analysis).value();
  ThresholdRule rule;
  const Binomial to_canary_draw(static_cast<double>(scenario.canary_weight) / config::kMaxBasisPoints);
  const auto check_every = std::max<std::int64_t>(1, scenario.analysis.interval.count() / 1000);
  std::poisson_distribution<std::uint64_t> arrivals(scenario.requests_per_second * static_cast<double>(kStep.count()));
  RunOutcome outcome;
  for (auto now = kStep; now <= scenario.duration && !(outcome.analysis_abort && outcome.threshold_rule_abort);
       now += kStep) {
    const std::uint64_t requests = arrivals(rng);
    const std::uint64_t to_canary = to_canary_draw(requests, rng);
    EvidenceInterval interval;
    interval.end = now;
    interval.canary_weight = scenario.canary_weight;
    interval.stable = stable.draw(requests - to_canary, rng);
    interval.canary = canary.draw(to_canary, rng);
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
