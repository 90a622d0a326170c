// The rollout evidence of the whole process: the workers' per-set counters summed on the main thread,
// which the rollout driver reads every tick (and turns into an interval by subtracting the last totals).
#pragma once

#include <memory>
#include <vector>

#include "weights/rollout_evidence.hpp"

namespace canaryd::proxy {

class Worker;

/// Since the process started, per set: the requests the weight placed, their errors, their latencies.
struct EvidenceTotals {
  weights::SetEvidence stable;
  weights::SetEvidence canary;

  /// Precondition: `earlier` are totals taken before these (the counters only grow).
  EvidenceTotals& operator-=(const EvidenceTotals& earlier);
  bool operator==(const EvidenceTotals&) const = default;
};

/// Sums every worker's rollout evidence (relaxed reads, no lock). Main thread.
EvidenceTotals sum_rollout_evidence(const std::vector<std::unique_ptr<Worker>>& workers);

}  // namespace canaryd::proxy
