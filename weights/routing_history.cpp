// RoutingHistory's bookkeeping: appending revisions and trimming to the count and byte bounds.
#include "weights/routing_history.hpp"

#include <algorithm>

#include "weights/revision_json.hpp"

namespace canaryd::weights {

// A limit of 0 would leave no current state; treat it as 1 rather than fail (config validates it too).
RoutingHistory::RoutingHistory(RoutingState initial, unsigned limit) : limit_(std::max(limit, 1u)) {
  bytes_ = revision_json_size(initial);
  revisions_.push_back(std::move(initial));
}

void RoutingHistory::push(RoutingState next) {
  bytes_ += revision_json_size(next) + 1;  // and the comma before it
  revisions_.push_back(std::move(next));
  trim();
}

void RoutingHistory::set_limit(unsigned limit) {
  limit_ = std::max(limit, 1u);
  trim();
}

const RoutingState* RoutingHistory::find(std::uint64_t revision) const {
  // Revisions ascend, and the history is short (history_limit): a linear scan is the simplest correct thing.
  for (const auto& r : revisions_) {
    if (r.revision == revision) return &r;
  }
  return nullptr;
}

const RoutingState* RoutingHistory::previous() const {
  if (revisions_.size() < 2) return nullptr;
  return &revisions_[revisions_.size() - 2];
}

void RoutingHistory::trim() {
  while (revisions_.size() > 1 && (revisions_.size() > limit_ || bytes_ > kMaxHistoryBytes)) {
    bytes_ -= revision_json_size(revisions_.front()) + 1;
    revisions_.pop_front();
  }
}

}  // namespace canaryd::weights
