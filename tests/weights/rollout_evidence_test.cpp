// The analysis's evidence: the sliding window's sums and the per-worker counters' snapshots.
#include "weights/rollout_evidence.hpp"

#include <gtest/gtest.h>

namespace canaryd::weights {
namespace {

using std::chrono::milliseconds;

EvidenceInterval interval(std::int64_t end_ms, std::uint64_t stable_requests, std::uint64_t canary_requests,
                          std::uint64_t canary_errors) {
  EvidenceInterval i;
  i.end = milliseconds(end_ms);
  i.canary_weight = 1000;
  i.stable.requests = stable_requests;
  i.canary.requests = canary_requests;
  i.canary.errors = canary_errors;
  return i;
}

TEST(EvidenceWindowTest, SumsTheIntervalsThatEndedWithinTheLength) {
  EvidenceWindow window(milliseconds(3000));
  window.add(interval(1000, 9, 1, 0));
  window.add(interval(2000, 18, 2, 1));
  window.add(interval(3000, 27, 3, 1));
  EXPECT_EQ(window.stable().requests, 54u);
  EXPECT_EQ(window.canary().requests, 6u);
  EXPECT_EQ(window.canary().errors, 2u);
  window.add(interval(4000, 36, 4, 0));  // the first (ended at 1000 = 4000 - 3000) leaves
  EXPECT_EQ(window.stable().requests, 81u);
  EXPECT_EQ(window.canary().requests, 9u);
  window.advance(milliseconds(6500));  // only the one ending at 4000 is within (3500, 6500]
  EXPECT_EQ(window.canary().requests, 4u);
  EXPECT_EQ(window.canary().errors, 0u);
  window.advance(milliseconds(60'000));
  EXPECT_EQ(window.stable(), SetEvidence{});
  EXPECT_EQ(window.canary(), SetEvidence{});
}

TEST(EvidenceWindowTest, LatenciesLeaveWithTheirInterval) {
  EvidenceWindow window(milliseconds(1000));
  EvidenceInterval slow = interval(1000, 0, 1, 0);
  slow.canary.latency.record(900'000);
  window.add(slow);
  EXPECT_EQ(window.canary().latency.total(), 1u);
  window.add(interval(2000, 0, 0, 0));
  EXPECT_EQ(window.canary().latency.total(), 0u);
}

TEST(SetCountersTest, WorkersSnapshotsAddUp) {
  SetCounters first;
  SetCounters second;
  first.record(false, 1'000);
  first.record(true, 2'000);
  second.record(true, 2'000);
  SetEvidence sum;
  first.add_to(sum);
  second.add_to(sum);
  EXPECT_EQ(sum.requests, 3u);
  EXPECT_EQ(sum.errors, 2u);
  EXPECT_EQ(sum.latency.counts[latency_bucket(2'000)], 2u);
  EXPECT_EQ(sum.latency.total(), 3u);
  // An interval is the difference of two sums.
  SetEvidence earlier;
  first.add_to(earlier);
  sum -= earlier;
  EXPECT_EQ(sum.requests, 1u);
  EXPECT_EQ(sum.errors, 1u);
}

}  // namespace
}  // namespace canaryd::weights
