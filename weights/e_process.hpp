// The anytime-valid tests of the rollout analysis: a mixture of Bernoulli likelihood ratios kept in
// log space (an e-process), and the two ways the analysis uses it: which set an event (an error, a
// slow response) fell in, given the canary's share of the traffic, and a canary rate against a limit.
//
// Why it may be watched forever and stopped any time: under the null each factor has conditional
// expectation at most 1 given everything before it, so each running product, and their mean, is a
// nonnegative supermartingale starting at 1. Ville's inequality bounds the chance that it EVER reaches
// 1/alpha by alpha: no matter how long the analysis watches, how often it looks, or when it stops.
// The null probability of a factor may change from one batch to the next (the canary's share steps
// with the weight) as long as it is fixed before the batch's outcomes are seen: each factor's
// expectation is then still at most 1 given the past, which is all the argument needs.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace canaryd::weights {

/// p with its odds multiplied by `factor`: factor*p / (factor*p + 1 - p). With p the canary's share of
/// the traffic and `factor` how many times the canary's rate exceeds stable's, this is the probability
/// that an event (error) is the canary's; with p a rate, it is a rate `factor` times worse in odds
/// (about factor*p while small, never above 1).
double scale_odds(double p, double factor);

/// Mean over K alternatives of the running products of Bernoulli likelihood ratios against a null
/// "success probability <= p0". Valid for the one-sided null: each alternative is above p0, so a
/// factor's expectation, p*p1/p0 + (1-p)*(1-p1)/(1-p0), grows with p and is 1 at p = p0.
class MixtureEProcess {
 public:
  explicit MixtureEProcess(std::size_t alternatives) : log_products_(alternatives, 0.0) {}

  /// Scores `successes` of `trials` whose null probability is at most `p0`, against `alternatives`
  /// (one per mixture component, each in (p0, 1)). A p0 of 0 or 1 carries no information: skipped.
  void observe(std::uint64_t trials, std::uint64_t successes, double p0, std::span<const double> alternatives);

  /// log of the e-value (the mean of the products); 0 before any evidence. Log space: a product of
  /// thousands of factors neither overflows nor underflows.
  double log_value() const;

 private:
  std::vector<double> log_products_;
};

/// The mixture's multipliers (how many times worse than the null each alternative is): spread from
/// a little worse to much worse, so both a slight and a gross regression find a component that fits.
inline constexpr double kAlternativeMultipliers[] = {1.5, 2, 3, 5, 10, 30};

/// Which set events fall in. Condition on the events: if the canary's rate is at most `null_ratio`
/// times stable's, an event is the canary's with probability at most scale_odds(share, null_ratio),
/// share being the canary's part of the interval's requests; the alternatives put the ratio at
/// null_ratio * m. Stable's own rate cancels out: it needs no estimate and may drift.
class ShareJudge {
 public:
  explicit ShareJudge(double null_ratio);

  void observe(std::uint64_t stable_requests, std::uint64_t canary_requests, std::uint64_t stable_events,
               std::uint64_t canary_events);
  double log_value() const { return process_.log_value(); }

 private:
  double null_ratio_;
  MixtureEProcess process_;
};

/// "The canary's rate is at most `max_rate`" (a fraction in (0, 1)), against rates worse in odds by
/// each multiplier.
class RateJudge {
 public:
  explicit RateJudge(double max_rate);

  void observe(std::uint64_t requests, std::uint64_t events) { process_.observe(requests, events, max_rate_, alternatives_); }
  double log_value() const { return process_.log_value(); }

 private:
  double max_rate_;
  std::vector<double> alternatives_;
  MixtureEProcess process_;
};

}  // namespace canaryd::weights
