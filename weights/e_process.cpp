// The mixture e-process's arithmetic, in log space.
#include "weights/e_process.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>

namespace canaryd::weights {

double scale_odds(double p, double factor) { return factor * p / (factor * p + 1.0 - p); }

void MixtureEProcess::observe(std::uint64_t trials, std::uint64_t successes, double p0,
                              std::span<const double> alternatives) {
  if (trials == 0 || !(p0 > 0.0 && p0 < 1.0)) return;
  const auto hits = static_cast<double>(successes);
  const auto misses = static_cast<double>(trials - successes);
  for (std::size_t k = 0; k < log_products_.size() && k < alternatives.size(); ++k) {
    const double p1 = alternatives[k];
    log_products_[k] += hits * std::log(p1 / p0) + misses * std::log1p(-p1) - misses * std::log1p(-p0);
  }
}

double MixtureEProcess::log_value() const {
  if (log_products_.empty()) return 0.0;
  // log(mean(exp(x))) = max + log(mean(exp(x - max))): no term overflows, the largest is exp(0).
  const double top = *std::max_element(log_products_.begin(), log_products_.end());
  double sum = 0.0;
  for (const double x : log_products_) sum += std::exp(x - top);
  return top + std::log(sum / static_cast<double>(log_products_.size()));
}

ShareJudge::ShareJudge(double null_ratio) : null_ratio_(null_ratio), process_(std::size(kAlternativeMultipliers)) {}

void ShareJudge::observe(std::uint64_t stable_requests, std::uint64_t canary_requests, std::uint64_t stable_events,
                         std::uint64_t canary_events) {
  const std::uint64_t requests = stable_requests + canary_requests;
  if (requests == 0) return;
  const double share = static_cast<double>(canary_requests) / static_cast<double>(requests);
  std::array<double, std::size(kAlternativeMultipliers)> alternatives{};
  for (std::size_t k = 0; k < alternatives.size(); ++k) {
    alternatives[k] = scale_odds(share, null_ratio_ * kAlternativeMultipliers[k]);
  }
  process_.observe(stable_events + canary_events, canary_events, scale_odds(share, null_ratio_), alternatives);
}

RateJudge::RateJudge(double max_rate) : max_rate_(max_rate), process_(std::size(kAlternativeMultipliers)) {
  for (const double m : kAlternativeMultipliers) alternatives_.push_back(scale_odds(max_rate, m));
}

}  // namespace canaryd::weights
