// LatencyHistogram's sums and its quantiles from bucket counts.
#include "weights/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace canaryd::weights {

std::uint64_t LatencyHistogram::total() const { return count_from(0); }

std::uint64_t LatencyHistogram::count_from(std::size_t from) const {
  std::uint64_t sum = 0;
  for (std::size_t i = from; i < kLatencyBuckets; ++i) sum += counts[i];
  return sum;
}

LatencyHistogram& LatencyHistogram::operator+=(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) counts[i] += other.counts[i];
  return *this;
}

LatencyHistogram& LatencyHistogram::operator-=(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) counts[i] -= other.counts[i];
  return *this;
}

std::optional<std::size_t> quantile_bucket(const LatencyHistogram& histogram, double q) {
  const std::uint64_t total = histogram.total();
  if (total == 0) return std::nullopt;
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) {
    seen += histogram.counts[i];
    if (seen >= rank) return i;
  }
  return kLatencyBuckets - 1;
}

std::optional<double> p99_ms(const LatencyHistogram& histogram) {
  const auto bucket = quantile_bucket(histogram, 0.99);
  if (!bucket) return std::nullopt;
  const auto micros = latency_bucket_upper(*bucket).value_or(latency_bucket_lower(*bucket));
  return static_cast<double>(micros) / 1000.0;
}

}  // namespace canaryd::weights
