// The latency histogram of the rollout analysis: fixed log-linear buckets, so the data plane files a
// response with one integer bucket index and one increment, and p99 comes from the bucket counts.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace canaryd::weights {

/// Four buckets per doubling of the latency in microseconds (bounds 4, 5, 6, 7 times a power of two),
/// so neighbouring bounds differ by at most 25 %: finer than any max_p99_ratio worth configuring.
/// Bucket 0 holds everything below 80 us; the last one is open-ended (from about 58.7 s).
inline constexpr std::size_t kLatencyBuckets = 80;

namespace latency_detail {
inline constexpr std::size_t kFirstRaw = 20;  // the raw log-linear index of 64 us
}

/// The bucket of a latency: integer arithmetic only, cheap enough for the request path.
constexpr std::size_t latency_bucket(std::uint64_t micros) {
  if (micros < 64) return 0;
  const auto k = static_cast<std::size_t>(std::bit_width(micros)) - 1;  // micros in [2^k, 2^(k+1))
  const std::size_t raw = 4 * (k - 1) + ((micros >> (k - 2)) & 3);
  const std::size_t index = raw - latency_detail::kFirstRaw;
  return index < kLatencyBuckets ? index : kLatencyBuckets - 1;
}

/// The smallest latency (us) bucket `index` holds; 0 for bucket 0.
constexpr std::uint64_t latency_bucket_lower(std::size_t index) {
  if (index == 0) return 0;
  const std::size_t raw = index + latency_detail::kFirstRaw;
  const std::size_t k = raw / 4 + 1;
  return static_cast<std::uint64_t>(4 + raw % 4) << (k - 2);
}

/// The bound (us) every latency in bucket `index` stays below; none for the open-ended last bucket.
constexpr std::optional<std::uint64_t> latency_bucket_upper(std::size_t index) {
  if (index + 1 >= kLatencyBuckets) return std::nullopt;
  return latency_bucket_lower(index + 1);
}

/// Counts per bucket. A plain value: the data plane keeps one set of counters per worker and set
/// (see SetCounters in rollout_evidence.hpp) and the main thread adds the workers' snapshots up.
struct LatencyHistogram {
  std::array<std::uint64_t, kLatencyBuckets> counts{};

  void record(std::uint64_t micros) { ++counts[latency_bucket(micros)]; }
  std::uint64_t total() const;
  /// How many latencies fall in bucket `from` or above.
  std::uint64_t count_from(std::size_t from) const;

  LatencyHistogram& operator+=(const LatencyHistogram& other);
  /// Precondition: `other` is a part of this one (an interval leaving a window, an earlier snapshot).
  LatencyHistogram& operator-=(const LatencyHistogram& other);
  bool operator==(const LatencyHistogram&) const = default;
};

/// The bucket that holds the q-quantile (the ceil(q * total)-th smallest latency); none when empty.
std::optional<std::size_t> quantile_bucket(const LatencyHistogram& histogram, double q);

/// The p99 in milliseconds, reported as its bucket's upper bound (a bound the true p99 stays below,
/// at most 25 % above it); the open-ended last bucket reports its lower bound. None when empty.
std::optional<double> p99_ms(const LatencyHistogram& histogram);

}  // namespace canaryd::weights
