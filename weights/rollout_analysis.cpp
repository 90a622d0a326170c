// The rollout analysis: feeding the e-processes, the guard, the threshold checks and their verdicts.
#include "weights/rollout_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <utility>

#include "config/duration.hpp"

namespace canaryd::weights {
namespace {

// The catastrophe guard: this many canary requests in the window, at least half of them errors.
constexpr std::uint64_t kGuardRequests = 20;

// The pooled e-value's weights: the judge, the error-rate check, the p99 check (they sum to 1).
constexpr double kJudgeShare = 0.5;
constexpr double kRateShare = 0.25;
constexpr double kSlowShare = 0.25;

// A figure for a reason: 19.8, 1, 0.5, 412.
std::string number(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", x);
  return text;
}

double percent(std::uint64_t part, std::uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

SetFigures figures(const SetEvidence& evidence) {
  return {evidence.requests, percent(evidence.errors, evidence.requests), p99_ms(evidence.latency)};
}

std::string requests_note(std::uint64_t requests) { return " (" + std::to_string(requests) + " requests)"; }

// log(sum of weight_i * exp(x_i)), without overflow.
double log_weighted_sum(std::initializer_list<std::pair<double, double>> terms) {
  double top = -INFINITY;
  for (const auto& [weight, x] : terms) top = std::max(top, x);
  double sum = 0;
  for (const auto& [weight, x] : terms) sum += weight * std::exp(x - top);
  return top + std::log(sum);
}

// The first bucket whose every latency is at least `micros`.
std::size_t first_bucket_at_least(double micros) {
  const auto whole = static_cast<std::uint64_t>(std::ceil(micros));
  const std::size_t bucket = latency_bucket(whole);
  return latency_bucket_lower(bucket) >= whole ? bucket : bucket + 1;
}

}  // namespace

const char* verdict_name(VerdictKind kind) {
  switch (kind) {
    case VerdictKind::pass: return "pass";
    case VerdictKind::fail: return "fail";
    case VerdictKind::inconclusive: return "inconclusive";
  }
  return "inconclusive";
}

Result<RolloutAnalysis> RolloutAnalysis::create(const AnalysisSettings& settings) {
  if (auto valid = validate(settings); !valid) return fail(std::move(valid.error()));
  return RolloutAnalysis(settings);
}

RolloutAnalysis::RolloutAnalysis(const AnalysisSettings& settings)
    : settings_(settings),
      window_(settings.window),
      errors_(settings.max_error_ratio),
      rate_(settings.max_error_rate / 100.0),
      slow_(1.0) {}

void RolloutAnalysis::observe(const EvidenceInterval& interval) {
  observe_latency(interval);  // first: its threshold comes from the window BEFORE this interval
  errors_.observe(interval.stable.requests, interval.canary.requests, interval.stable.errors, interval.canary.errors);
  rate_.observe(interval.canary.requests, interval.canary.errors);
  window_.add(interval);
  look_for_abort();
}

// Slow responses, against a threshold L fixed before the interval (stable's window p99): the stable
// ones above L, the canary ones above max_p99_ratio x L. If the canary's latency is at most
// max_p99_ratio times stable's (in distribution, in the tail), a canary response is no likelier to
// be slow than a stable one, so a slow response is the canary's with probability at most its share:
// the judge's test with ratio 1. Any L fixed in advance keeps that true, so stable's p99 may be a
// rough estimate. Bucket edges round both ways in the null's favour: stable counts every bucket above
// L's, the canary only buckets that start at or above max_p99_ratio x L.
void RolloutAnalysis::observe_latency(const EvidenceInterval& interval) {
  const SetEvidence& stable = window_.stable();
  if (stable.requests < settings_.min_requests) return;
  const auto bucket = quantile_bucket(stable.latency, 0.99);
  const auto threshold = bucket ? latency_bucket_upper(*bucket) : std::nullopt;
  if (!threshold) return;
  const std::size_t canary_from = first_bucket_at_least(settings_.max_p99_ratio * static_cast<double>(*threshold));
  const std::uint64_t canary_slow = canary_from < kLatencyBuckets ? interval.canary.latency.count_from(canary_from) : 0;
  slow_.observe(interval.stable.latency.total(), interval.canary.latency.total(),
                interval.stable.latency.count_from(*bucket + 1), canary_slow);
}

void RolloutAnalysis::look_for_abort() {
  if (abort_reason_) return;
  const SetEvidence& canary = window_.canary();
  if (canary.requests >= kGuardRequests && 2 * canary.errors >= canary.requests) {
    abort_reason_ = "canary error rate " + number(percent(canary.errors, canary.requests)) + " % >= 50 %" +
                    requests_note(canary.requests);
  } else if (log_judge() >= std::log(1.0 / (kJudgeShare * settings_.alpha))) {
    const SetEvidence& stable = window_.stable();
    abort_reason_ = "canary error rate " + number(percent(canary.errors, canary.requests)) + " % > " +
                    number(settings_.max_error_ratio) + " x stable " +
                    number(percent(stable.errors, stable.requests)) + " %" + requests_note(canary.requests);
  }
}

double RolloutAnalysis::log_evidence() const {
  return log_weighted_sum(
      {{kJudgeShare, errors_.log_value()}, {kRateShare, rate_.log_value()}, {kSlowShare, slow_.log_value()}});
}

Verdict RolloutAnalysis::check(std::chrono::milliseconds now) {
  window_.advance(now);
  Verdict verdict;
  verdict.stable = figures(window_.stable());
  verdict.canary = figures(window_.canary());
  if (abort_reason_) {
    verdict.kind = VerdictKind::fail;
    verdict.abort = true;
    verdict.failures = failures_;
    verdict.reason = *abort_reason_;
    return verdict;
  }
  if (verdict.canary.requests < settings_.min_requests) {
    verdict.failures = failures_;  // a check that cannot run neither fails nor passes
    verdict.reason = std::to_string(verdict.canary.requests) + " canary requests in the last " +
                     config::format_duration(settings_.window) + ", fewer than min_requests " +
                     std::to_string(settings_.min_requests);
    return verdict;
  }
  return threshold_checks(std::move(verdict));
}

Verdict RolloutAnalysis::threshold_checks(Verdict verdict) {
  const SetFigures& canary = verdict.canary;
  const SetFigures& stable = verdict.stable;
  std::string over;
  if (canary.error_rate > settings_.max_error_rate) {
    over = "canary error rate " + number(canary.error_rate) + " % > " + number(settings_.max_error_rate) + " %";
  } else if (canary.p99_ms && stable.p99_ms && *canary.p99_ms > settings_.max_p99_ratio * *stable.p99_ms) {
    over = "canary p99 " + number(*canary.p99_ms) + " ms > " + number(settings_.max_p99_ratio) + " x stable p99 " +
           number(*stable.p99_ms) + " ms";
  }
  if (over.empty()) {
    failures_ = 0;
    verdict.kind = VerdictKind::pass;
    verdict.reason = "canary error rate " + number(canary.error_rate) + " % <= " + number(settings_.max_error_rate) +
                     " %, p99 within " + number(settings_.max_p99_ratio) + " x stable" + requests_note(canary.requests);
  } else if (log_evidence() >= std::log(1.0 / settings_.alpha)) {
    ++failures_;
    verdict.kind = VerdictKind::fail;
    verdict.reason = over + requests_note(canary.requests);
    if (failures_ >= settings_.failure_limit) {
      abort_reason_ = verdict.reason;
      verdict.abort = true;
    }
  } else {
    failures_ = 0;
    verdict.kind = VerdictKind::inconclusive;
    verdict.reason = over + requests_note(canary.requests) + ", not significant yet";
  }
  verdict.failures = failures_;
  return verdict;
}

}  // namespace canaryd::weights
