// The rollout analysis: fed intervals of weight-placed evidence, it keeps the statistical judge (is
// the canary's error rate more than max_error_ratio times stable's?), the threshold checks
// (max_error_rate, max_p99_ratio) and the catastrophe guard, and answers a verdict at each check.
// Sans-io: time arrives with the intervals and the checks; one instance per rollout (per replica).
//
// The false-abort bound. Three e-processes run from the start: the judge J (which set the errors fall
// in), R (canary error rate <= max_error_rate) and P (slow responses: how many canary responses are
// slower than max_p99_ratio x stable's p99, against how many stable ones are slower than that p99).
// Their weighted mean E = J/2 + R/4 + P/4 is itself an e-process for "the canary is healthy" (all
// three nulls), so it reaches 1/alpha with probability at most alpha, ever. Every abort but the
// guard's happens only while E >= 1/alpha: the judge aborts on its own once J >= 2/alpha (which
// implies it); a threshold check fails only when its window figure is over the limit AND E >= 1/alpha,
// and failure_limit consecutive failures abort. So the replica's false-abort chance is at most alpha,
// however long it watches. Averaging beats splitting alpha (J >= 2/alpha or R >= 4/alpha or
// P >= 4/alpha), which it implies: weak evidence of several kinds adds up. The guard (20 canary
// requests in the window, half of them errors) is no test, and needs none: at a healthy 1 % error
// rate its chance is about 2e-15 per look (1e-8 at 5 %).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "config/result.hpp"
#include "config/rollout_plan.hpp"
#include "weights/e_process.hpp"
#include "weights/rollout_evidence.hpp"

namespace canaryd::weights {

/// The analysis settings live with the plan (config/rollout_plan.hpp); validate() is there too.
using config::AnalysisSettings;
using config::validate;

enum class VerdictKind { pass, fail, inconclusive };
const char* verdict_name(VerdictKind kind);

/// One set's figures over the window, as GET /api/rollout shows them.
struct SetFigures {
  std::uint64_t requests = 0;
  double error_rate = 0;          // percent
  std::optional<double> p99_ms;   // none without responses
};

/// A check's answer. pass: the window has min_requests canary requests and both figures are within
/// their limits (a step may advance). inconclusive: too few canary requests ("low traffic is never a
/// pass"), or a figure over its limit without the evidence to say so yet; the step holds. fail: a
/// figure over its limit with the evidence, counted in `failures`; or an abort.
struct Verdict {
  VerdictKind kind = VerdictKind::inconclusive;
  bool abort = false;
  unsigned failures = 0;  // consecutive failed threshold checks
  std::string reason;     // e.g. "canary error rate 19.8 % > 1 % (240 requests)"
  SetFigures stable;
  SetFigures canary;
};

class RolloutAnalysis {
 public:
  static Result<RolloutAnalysis> create(const AnalysisSettings& settings);

  /// Feeds one interval. The judge and the guard look at once (an anytime-valid test may): after this,
  /// abort_reason() may be set. Intervals must arrive in time order.
  void observe(const EvidenceInterval& interval);

  /// The threshold checks over the window ending at `now`; call every settings.interval.
  Verdict check(std::chrono::milliseconds now);

  /// Set once the analysis has decided to abort; it stays set.
  const std::optional<std::string>& abort_reason() const { return abort_reason_; }

  /// log of the pooled e-value E and of the judge's J (for tests and diagnostics).
  double log_evidence() const;
  double log_judge() const { return errors_.log_value(); }

 private:
  explicit RolloutAnalysis(const AnalysisSettings& settings);
  void observe_latency(const EvidenceInterval& interval);
  void look_for_abort();
  Verdict threshold_checks(Verdict verdict);

  AnalysisSettings settings_;
  EvidenceWindow window_;
  ShareJudge errors_;
  RateJudge rate_;
  ShareJudge slow_;
  unsigned failures_ = 0;
  std::optional<std::string> abort_reason_;
};

}  // namespace canaryd::weights
