// What the rollout analysis sees: per set, the requests the WEIGHT placed (not the overrides), their
// errors and latencies, as intervals that each carry the canary weight in force, and a sliding window
// over them. Plain values; the per-worker counters the data plane fills without locks are here too.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>

#include "config/weight.hpp"
#include "weights/latency_histogram.hpp"

namespace canaryd::weights {

/// One set's evidence over some time: requests, errors (5xx answers and upstream errors), latencies.
struct SetEvidence {
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  LatencyHistogram latency;

  SetEvidence& operator+=(const SetEvidence& other);
  /// Precondition: `other` is a part of this one.
  SetEvidence& operator-=(const SetEvidence& other);
  bool operator==(const SetEvidence&) const = default;
};

/// Evidence gathered at one canary weight. When the weight steps mid-interval the caller ends the
/// interval there and starts another, so every request is judged with the weight it was routed at.
struct EvidenceInterval {
  std::chrono::milliseconds end{0};  // on the caller's clock; intervals arrive in order
  config::BasisPoints canary_weight = 0;
  SetEvidence stable;
  SetEvidence canary;
};

/// One worker's counters for one set, written by that worker only (relaxed: no lock, no fence on the
/// request path) and read by the main thread, which sums the workers' snapshots and subtracts the
/// previous sum to get an interval. Counters only grow, so a snapshot is consistent enough: a request
/// counted in one snapshot and its error in the next moves one error by one interval.
class SetCounters {
 public:
  void record(bool error, std::uint64_t latency_micros) {
    bump(requests_);
    if (error) bump(errors_);
    bump(latency_[latency_bucket(latency_micros)]);
  }
  /// Adds this worker's counts so far to `sum` (main thread).
  void add_to(SetEvidence& sum) const;

 private:
  // Single writer: a load and a store, not a read-modify-write.
  static void bump(std::atomic<std::uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets> latency_{};
};

/// The last `length` of intervals, summed per set: what the threshold checks and the figures use.
class EvidenceWindow {
 public:
  explicit EvidenceWindow(std::chrono::milliseconds length) : length_(length) {}

  void add(const EvidenceInterval& interval);
  /// Drops the intervals that ended at or before `now - length`.
  void advance(std::chrono::milliseconds now);

  const SetEvidence& stable() const { return stable_; }
  const SetEvidence& canary() const { return canary_; }
  std::chrono::milliseconds length() const { return length_; }

 private:
  std::chrono::milliseconds length_;
  std::deque<EvidenceInterval> intervals_;
  SetEvidence stable_;
  SetEvidence canary_;
};

}  // namespace canaryd::weights
