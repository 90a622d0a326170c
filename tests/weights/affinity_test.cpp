// Unit tests of the affinity bucket (contract section 8), seeded so that every run checks the same keys:
// golden values (a change of hash is a visible change here), monotonicity at every 1 % step up and down,
// the canary share over 10^5 keys and over 10^4-key subsets, independent slices for different salts,
// and the same placement from every thread. The full 10^6-key check is bench/affinity_props.cpp.
#include "weights/affinity.hpp"

#include <gtest/gtest.h>

#include "tests/weights/affinity_keys.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace canaryd::weights {
namespace {

constexpr std::uint64_t kSalt = 0x6a09e667f3bcc908ULL;
constexpr std::size_t kKeys = 100000;

const std::vector<std::string>& keys() {
  static const std::vector<std::string> all = test_support::distinct_affinity_keys(kKeys, 20261205);
  return all;
}

/// Percent of `keys[from, to)` that go to the canary at `weight` under `salt`.
double canary_share(std::size_t from, std::size_t to, config::BasisPoints weight, std::uint64_t salt) {
  std::size_t canary = 0;
  for (std::size_t i = from; i < to; ++i) canary += affinity_canary(affinity_bucket(keys()[i], salt), weight);
  return 100.0 * static_cast<double>(canary) / static_cast<double>(to - from);
}

TEST(AffinityTest, GoldenBuckets) {
  // Pinned values: replicas of different builds must agree, so the hash may never change silently.
  EXPECT_EQ(affinity_bucket("", 0), 5983u);
  EXPECT_EQ(affinity_bucket("alice", 0), 3846u);
  EXPECT_EQ(affinity_bucket("alice", 1), 3497u);
  EXPECT_EQ(affinity_bucket("bob", kSalt), 2863u);
  EXPECT_EQ(affinity_bucket("0123456789abcdef0123456789abcdef", kSalt), 9908u);
  EXPECT_EQ(affinity_bucket("10.1.2.3", 42), 2391u);
  EXPECT_EQ(affinity_bucket("a key longer than sixteen bytes, with an odd tail", 0xffffffffffffffffULL), 9460u);
}

TEST(AffinityTest, BucketsAreInRangeAndRepeatable) {
  for (const auto& key : keys()) {
    const auto bucket = affinity_bucket(key, kSalt);
    ASSERT_LT(bucket, kAffinityBuckets) << key;
    ASSERT_EQ(affinity_bucket(key, kSalt), bucket) << key;
  }
}

TEST(AffinityTest, ZeroBytePaddingAndLengthAreTellApart) {
  // The last word is zero-padded: the length keeps "a" and "a\0" apart, as it does "" and "\0".
  int same = 0;
  for (std::uint64_t salt = 0; salt < 100; ++salt) {
    same += affinity_bucket("a", salt) == affinity_bucket(std::string_view("a\0", 2), salt);
    same += affinity_bucket("", salt) == affinity_bucket(std::string_view("\0", 1), salt);
    same += affinity_bucket("12345678", salt) == affinity_bucket(std::string_view("12345678\0", 9), salt);
  }
  EXPECT_LE(same, 1);  // 300 pairs at 1 in 10,000 each
}

TEST(AffinityTest, ZeroIsNoKeyAndFullIsEveryKey) {
  for (std::size_t i = 0; i < 1000; ++i) {
    const auto bucket = affinity_bucket(keys()[i], kSalt);
    EXPECT_FALSE(affinity_canary(bucket, 0));
    EXPECT_TRUE(affinity_canary(bucket, config::kMaxBasisPoints));
  }
}

/// Walks the weight through `steps` (basis points), recomputing every key's set at each step the way
/// a request would, and counts the keys that moved against the direction of the change.
struct Walk {
  std::size_t wrong_moves = 0;
  std::size_t right_moves = 0;
};

Walk walk_weights(const std::vector<config::BasisPoints>& steps) {
  Walk walk;
  std::vector<bool> canary(keys().size());
  for (std::size_t i = 0; i < keys().size(); ++i) canary[i] = affinity_canary(affinity_bucket(keys()[i], kSalt), steps[0]);
  for (std::size_t s = 1; s < steps.size(); ++s) {
    const bool raising = steps[s] > steps[s - 1];
    for (std::size_t i = 0; i < keys().size(); ++i) {
      const bool now = affinity_canary(affinity_bucket(keys()[i], kSalt), steps[s]);
      if (now != canary[i]) ++(now == raising ? walk.right_moves : walk.wrong_moves);
      canary[i] = now;
    }
  }
  return walk;
}

TEST(AffinityTest, RaisingOnlyMovesStableToCanaryAndLoweringOnlyBack) {
  std::vector<config::BasisPoints> steps;
  for (config::BasisPoints w = 0; w <= config::kMaxBasisPoints; w += 100) steps.push_back(w);
  for (config::BasisPoints w = config::kMaxBasisPoints; w > 0; w -= 100) steps.push_back(w - 100);
  const auto walk = walk_weights(steps);
  EXPECT_EQ(walk.wrong_moves, 0u);
  // Up to 100 % every key moved to the canary once, and back once on the way down.
  EXPECT_EQ(walk.right_moves, 2 * kKeys);
}

TEST(AffinityTest, AnUnevenWalkNeverMovesAKeyAgainstTheChange) {
  // A rollout-like path with undo-like jumps back: 0 -> 5 -> 25 -> 10 -> 50 -> 30 -> 100 -> 0 -> 33.33.
  const auto walk = walk_weights({0, 500, 2500, 1000, 5000, 3000, 10000, 0, 3333});
  EXPECT_EQ(walk.wrong_moves, 0u);
}

TEST(AffinityTest, ShareOverTenToTheFiveKeysIsWithinAThirdOfAPoint) {
  double worst = 0;
  for (config::BasisPoints w = 0; w <= config::kMaxBasisPoints; w += 100) {
    const double share = canary_share(0, kKeys, w, kSalt);
    worst = std::max(worst, std::abs(share - w / 100.0));
    EXPECT_NEAR(share, w / 100.0, 0.3) << "weight " << w / 100.0;
  }
  RecordProperty("max_deviation_points", std::to_string(worst));
}

TEST(AffinityTest, ShareOverTenToTheFourKeysIsWithinOneAndAHalfPoints) {
  // The contract's 1.5 points over 10^4 keys is three standard deviations at 50 % for one weight: a
  // statistical bound, not a certainty (a key set whose shares stray further exists for every hash and
  // salt). So: at most 1 % of the (subset, weight) pairs of ten disjoint 10^4-key subsets may stray
  // past 1.5 points (about 0.1 % do for a uniform hash), and no subset past 1.95 points at any weight
  // (the Kolmogorov-Smirnov bound a uniform hash keeps with probability 99.9 %).
  constexpr std::size_t kSubset = 10000;
  int pairs = 0;
  int past = 0;
  for (std::size_t from = 0; from < kKeys; from += kSubset) {
    for (config::BasisPoints w = 0; w <= config::kMaxBasisPoints; w += 100) {
      const double deviation = std::abs(canary_share(from, from + kSubset, w, kSalt) - w / 100.0);
      ++pairs;
      past += deviation > 1.5;
      EXPECT_LE(deviation, 1.95) << "keys " << from << ".." << from + kSubset << " weight " << w / 100.0;
    }
  }
  EXPECT_LE(past * 100, pairs) << past << " of " << pairs << " (subset, weight) pairs past 1.5 points";
}

TEST(AffinityTest, EveryKeyIsSomewhereEvenAtFractionalWeights) {
  // 0.01 % steps: the bucket is compared in basis points, not percent.
  for (const config::BasisPoints w : {1u, 50u, 3333u, 9999u}) {
    EXPECT_NEAR(canary_share(0, kKeys, w, kSalt), w / 100.0, 0.3) << "weight " << w;
  }
}

TEST(AffinityTest, DifferentSaltsExposeDifferentSlices) {
  // Two canary definitions at 10 % each: independent slices overlap in about 10 % x 10 % = 1 % of keys.
  constexpr config::BasisPoints kTen = 1000;
  const std::uint64_t salts[] = {kSalt, kSalt + 1, 0, 0xdeadbeefULL, kSalt ^ (1ULL << 63)};
  for (std::size_t a = 0; a < std::size(salts); ++a) {
    for (std::size_t b = a + 1; b < std::size(salts); ++b) {
      std::size_t both = 0;
      for (const auto& key : keys()) {
        both += affinity_canary(affinity_bucket(key, salts[a]), kTen) && affinity_canary(affinity_bucket(key, salts[b]), kTen);
      }
      // 1 % of 10^5 is 1,000, one standard deviation about 31.
      EXPECT_NEAR(100.0 * static_cast<double>(both) / kKeys, 1.0, 0.2) << "salts " << a << ", " << b;
    }
  }
}

TEST(AffinityTest, EveryThreadPlacesAKeyTheSameWay) {
  constexpr std::size_t kSample = 20000;
  std::vector<std::vector<std::uint32_t>> seen(4, std::vector<std::uint32_t>(kSample));
  std::vector<std::thread> threads;
  for (auto& out : seen) {
    threads.emplace_back([&out] {
      for (std::size_t i = 0; i < kSample; ++i) out[i] = affinity_bucket(keys()[i], kSalt);
    });
  }
  for (auto& t : threads) t.join();
  for (std::size_t t = 1; t < seen.size(); ++t) EXPECT_EQ(seen[t], seen[0]) << "thread " << t;
}

}  // namespace
}  // namespace canaryd::weights
