// Sums the workers' rollout evidence (see rollout_evidence_totals.hpp).
#include "proxy/control/rollout_evidence_totals.hpp"

#include "proxy/dataplane/worker.hpp"

namespace canaryd::proxy {

EvidenceTotals& EvidenceTotals::operator-=(const EvidenceTotals& earlier) {
  stable -= earlier.stable;
  canary -= earlier.canary;
  return *this;
}

EvidenceTotals sum_rollout_evidence(const std::vector<std::unique_ptr<Worker>>& workers) {
  EvidenceTotals totals;
  for (const auto& worker : workers) {
    worker->add_rollout_evidence(SetKind::Stable, totals.stable);
    worker->add_rollout_evidence(SetKind::Canary, totals.canary);
  }
  return totals;
}

}  // namespace canaryd::proxy
