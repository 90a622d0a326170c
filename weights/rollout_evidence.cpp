// Sums of SetEvidence, the per-worker counters' snapshot, and the sliding window.
#include "weights/rollout_evidence.hpp"

namespace canaryd::weights {

SetEvidence& SetEvidence::operator+=(const SetEvidence& other) {
  requests += other.requests;
  errors += other.errors;
  latency += other.latency;
  return *this;
}

SetEvidence& SetEvidence::operator-=(const SetEvidence& other) {
  requests -= other.requests;
  errors -= other.errors;
  latency -= other.latency;
  return *this;
}

void SetCounters::add_to(SetEvidence& sum) const {
  sum.requests += requests_.load(std::memory_order_relaxed);
  sum.errors += errors_.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) sum.latency.counts[i] += latency_[i].load(std::memory_order_relaxed);
}

void EvidenceWindow::add(const EvidenceInterval& interval) {
  intervals_.push_back(interval);
  stable_ += interval.stable;
  canary_ += interval.canary;
  advance(interval.end);
}

void EvidenceWindow::advance(std::chrono::milliseconds now) {
  while (!intervals_.empty() && intervals_.front().end <= now - length_) {
    stable_ -= intervals_.front().stable;
    canary_ -= intervals_.front().canary;
    intervals_.pop_front();
  }
}

}  // namespace canaryd::weights
