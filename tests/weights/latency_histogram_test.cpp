// The latency histogram's buckets (bounds, their spacing) and the p99 read from bucket counts.
#include "weights/latency_histogram.hpp"

#include <gtest/gtest.h>

namespace canaryd::weights {
namespace {

TEST(LatencyHistogramTest, EveryLatencyFallsBetweenItsBucketsBounds) {
  for (std::uint64_t micros = 0; micros < 70'000'000; micros = micros * 11 / 10 + 1) {
    const std::size_t bucket = latency_bucket(micros);
    ASSERT_LT(bucket, kLatencyBuckets);
    EXPECT_LE(latency_bucket_lower(bucket), micros) << micros;
    if (const auto upper = latency_bucket_upper(bucket)) {
      EXPECT_LT(micros, *upper) << micros;
    }
  }
}

TEST(LatencyHistogramTest, BoundsAreTheLogLinearSteps) {
  EXPECT_EQ(latency_bucket(0), 0u);
  EXPECT_EQ(latency_bucket(79), 0u);
  EXPECT_EQ(latency_bucket(80), 1u);
  EXPECT_EQ(latency_bucket_lower(1), 80u);
  EXPECT_EQ(latency_bucket_lower(2), 96u);
  EXPECT_EQ(latency_bucket_lower(3), 112u);
  EXPECT_EQ(latency_bucket_lower(4), 128u);
  EXPECT_EQ(latency_bucket(1000), latency_bucket(1023));  // [896, 1024)
  EXPECT_EQ(latency_bucket_lower(latency_bucket(1000)), 896u);
  EXPECT_EQ(latency_bucket(~std::uint64_t{0}), kLatencyBuckets - 1);
  EXPECT_FALSE(latency_bucket_upper(kLatencyBuckets - 1).has_value());
}

TEST(LatencyHistogramTest, NeighbouringBoundsDifferByAtMostAQuarter) {
  for (std::size_t i = 1; i + 1 < kLatencyBuckets; ++i) {
    const double ratio = static_cast<double>(*latency_bucket_upper(i)) / static_cast<double>(latency_bucket_lower(i));
    EXPECT_GT(ratio, 1.0);
    EXPECT_LE(ratio, 1.25) << i;
  }
}

TEST(LatencyHistogramTest, P99IsTheUpperBoundOfTheBucketHoldingTheRankedLatency) {
  LatencyHistogram h;
  EXPECT_FALSE(p99_ms(h).has_value());
  for (int i = 0; i < 99; ++i) h.record(10'000);  // 10 ms: bucket [8192, 10240) us
  h.record(300'000);                              // the 100th: bucket [262144, 327680) us
  // ceil(0.99 * 100) = 99th smallest: still 10 ms.
  EXPECT_DOUBLE_EQ(*p99_ms(h), 10.24);
  h.record(300'000);  // 101 latencies: the 100th smallest is the slow one
  EXPECT_DOUBLE_EQ(*p99_ms(h), 327.68);
  EXPECT_EQ(quantile_bucket(h, 0.5), latency_bucket(10'000));
}

TEST(LatencyHistogramTest, OneLatencyIsItsOwnP99AndSumsSubtractBack) {
  LatencyHistogram one;
  one.record(1'500);  // in [1280, 1536) us
  EXPECT_DOUBLE_EQ(*p99_ms(one), 1.536);
  LatencyHistogram sum;
  sum += one;
  sum += one;
  EXPECT_EQ(sum.total(), 2u);
  EXPECT_EQ(sum.count_from(latency_bucket(1'500)), 2u);
  EXPECT_EQ(sum.count_from(latency_bucket(1'500) + 1), 0u);
  sum -= one;
  EXPECT_EQ(sum, one);
}

}  // namespace
}  // namespace canaryd::weights
