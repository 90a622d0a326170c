// Unit tests of the splitter's accuracy: per worker, across a weight change, all workers together.
#include "weights/splitter.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace canaryd::weights {
namespace {

constexpr config::BasisPoints kWeights[] = {1, 1000, 2500, 3333, 5000, 9999, 10000};

// Deviation scaled by 10000 to stay exact: canary*10000 - sum of weights so far.
std::int64_t scaled_deviation(std::uint64_t canary, std::int64_t weight_sum) {
  return static_cast<std::int64_t>(canary) * config::kMaxBasisPoints - weight_sum;
}

TEST(SplitterTest, DeviationStaysBelowOnePerWorker) {
  for (const auto w : kWeights) {
    Splitter splitter;
    std::uint64_t canary = 0;
    std::int64_t weight_sum = 0;
    for (int n = 1; n <= 10000; ++n) {
      if (splitter.next_is_canary(w)) ++canary;
      weight_sum += w;
      // After every request, not only at the end: the bound holds for any prefix of the run.
      const auto dev = scaled_deviation(canary, weight_sum);
      ASSERT_LT(dev, static_cast<std::int64_t>(config::kMaxBasisPoints)) << "weight " << w << " n " << n;
      ASSERT_GT(dev, -static_cast<std::int64_t>(config::kMaxBasisPoints)) << "weight " << w << " n " << n;
    }
    EXPECT_EQ(canary, static_cast<std::uint64_t>(w)) << "10000 requests at " << w << " bp";
  }
}

TEST(SplitterTest, DeviationStaysBelowOnePerWorkerAcrossAWeightChange) {
  for (const auto before : kWeights) {
    for (const auto after : kWeights) {
      Splitter splitter;
      std::uint64_t canary = 0;
      std::int64_t weight_sum = 0;
      for (int n = 1; n <= 10000; ++n) {
        const auto w = n <= 3777 ? before : after;  // change in the middle of an accumulator cycle
        if (splitter.next_is_canary(w)) ++canary;
        weight_sum += w;
        const auto dev = scaled_deviation(canary, weight_sum);
        ASSERT_LT(dev, static_cast<std::int64_t>(config::kMaxBasisPoints)) << before << "->" << after << " n " << n;
        ASSERT_GT(dev, -static_cast<std::int64_t>(config::kMaxBasisPoints)) << before << "->" << after << " n " << n;
      }
    }
  }
}

TEST(SplitterTest, WorkersTogetherStayWithinTheirCount) {
  constexpr int kWorkers = 4;
  for (const auto w : kWeights) {
    std::vector<Splitter> workers(kWorkers);
    std::uint64_t canary = 0;
    std::int64_t weight_sum = 0;
    std::uint32_t lcg = 12345;  // deterministic, uneven assignment of requests to workers
    for (int n = 1; n <= 10000; ++n) {
      lcg = lcg * 1664525u + 1013904223u;
      if (workers[(lcg >> 16) % kWorkers].next_is_canary(w)) ++canary;
      weight_sum += w;
      const auto dev = scaled_deviation(canary, weight_sum);
      ASSERT_LT(dev, static_cast<std::int64_t>(kWorkers) * config::kMaxBasisPoints);
      ASSERT_GT(dev, -static_cast<std::int64_t>(kWorkers) * config::kMaxBasisPoints);
    }
  }
}

TEST(SplitterTest, ZeroNeverAndFullAlwaysChooseCanary) {
  Splitter zero;
  Splitter full;
  for (int n = 0; n < 1000; ++n) {
    EXPECT_FALSE(zero.next_is_canary(0));
    EXPECT_TRUE(full.next_is_canary(config::kMaxBasisPoints));
  }
}

}  // namespace
}  // namespace canaryd::weights
