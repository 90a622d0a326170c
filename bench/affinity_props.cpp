// The affinity properties at full size (contract section 8; the unit tests run a 10^5-key subset):
// over 10^6 distinct keys, the canary share at every weight from 0 to 100 % in 1 % steps, and the keys
// that move between sets at each step up and back down, none of which may move against the change.
// Prints a table (weight, share, deviation, keys moved) and, over many salts, how often the largest
// deviation stays within the 0.1 points. Exit 1 on a key moving against the change or a share
// past the Kolmogorov-Smirnov bound a uniform hash keeps with probability 99.9 % (1.95 / sqrt(keys)).
//   build/bench/canaryd_affinity_props [--keys N] [--salts K] [--seed S]
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tests/weights/affinity_keys.hpp"
#include "weights/affinity.hpp"

namespace {

using canaryd::config::BasisPoints;
using canaryd::weights::affinity_bucket;
using canaryd::weights::affinity_canary;
using canaryd::weights::kAffinityBuckets;

struct Options {
  std::size_t keys = 1000000;
  unsigned salts = 100;
  std::uint64_t seed = 1;
};

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const auto value = std::strtoull(argv[i + 1], nullptr, 10);
    if (flag == "--keys") o.keys = value;
    else if (flag == "--salts") o.salts = static_cast<unsigned>(value);
    else if (flag == "--seed") o.seed = value;
    else std::fprintf(stderr, "unknown option %s\n", argv[i]), std::exit(2);
  }
  return o;
}

/// The largest |share - weight| in points over the 1 % steps, from a bucket histogram.
double max_deviation(const std::vector<std::string>& keys, std::uint64_t salt) {
  std::vector<std::size_t> count(kAffinityBuckets + 1, 0);
  for (const auto& key : keys) ++count[affinity_bucket(key, salt) + 1];
  for (std::size_t b = 1; b <= kAffinityBuckets; ++b) count[b] += count[b - 1];  // count[w] = buckets below w
  double worst = 0;
  for (BasisPoints w = 0; w <= kAffinityBuckets; w += 100) {
    worst = std::max(worst, std::abs(100.0 * static_cast<double>(count[w]) / static_cast<double>(keys.size()) - w / 100.0));
  }
  return worst;
}

/// Walks 0 -> 100 -> 0 in 1 % steps, recomputing every key's set at each step as a request would.
/// Returns the keys moved against the change; prints one row per step up.
std::size_t walk(const std::vector<std::string>& keys, std::uint64_t salt, double& worst) {
  std::vector<BasisPoints> steps;
  for (BasisPoints w = 0; w <= kAffinityBuckets; w += 100) steps.push_back(w);
  for (BasisPoints w = kAffinityBuckets; w > 0; w -= 100) steps.push_back(w - 100);
  std::vector<bool> canary(keys.size(), false);
  std::size_t wrong_total = 0;
  std::printf("| weight %% | share %% | deviation (points) | moved | moved against the change |\n|---|---|---|---|---|\n");
  for (std::size_t s = 0; s < steps.size(); ++s) {
    const bool raising = s == 0 || steps[s] > steps[s - 1];
    std::size_t in_canary = 0, moved = 0, wrong = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const bool now = affinity_canary(affinity_bucket(keys[i], salt), steps[s]);
      in_canary += now;
      if (now != canary[i]) ++(now == raising ? moved : wrong);
      canary[i] = now;
    }
    const double share = 100.0 * static_cast<double>(in_canary) / static_cast<double>(keys.size());
    const double deviation = std::abs(share - steps[s] / 100.0);
    worst = std::max(worst, deviation);
    wrong_total += wrong;
    if (raising || wrong > 0) {
      std::printf("| %s%u | %.3f | %.3f | %zu | %zu |\n", raising ? "" : "down ", steps[s] / 100, share, deviation, moved, wrong);
    }
  }
  return wrong_total;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  const auto keys = canaryd::weights::test_support::distinct_affinity_keys(o.keys, o.seed);
  std::mt19937_64 salts(o.seed ^ 0x5a17);
  const std::uint64_t salt = salts();
  const double bound = 100.0 * 1.95 / std::sqrt(static_cast<double>(o.keys));
  std::printf("%zu distinct keys, salt %016llx, weights 0 -> 100 -> 0 in 1 %% steps\n\n", o.keys,
              static_cast<unsigned long long>(salt));
  double worst = 0;
  const std::size_t wrong = walk(keys, salt, worst);
  std::printf("\nlargest deviation %.3f points (99.9 %% bound for a uniform hash: %.3f); keys moved against the change: %zu\n",
              worst, bound, wrong);
  unsigned within = 0;
  double worst_over_salts = 0;
  for (unsigned i = 0; i < o.salts; ++i) {
    const double d = max_deviation(keys, salts());
    within += d <= 0.1;
    worst_over_salts = std::max(worst_over_salts, d);
  }
  if (o.salts > 0) {
    std::printf("over %u more salts: largest deviation within 0.1 points for %u (%.0f %%), worst %.3f\n", o.salts,
                within, 100.0 * within / o.salts, worst_over_salts);
  }
  const bool ok = wrong == 0 && worst <= bound;
  std::printf("%s\n", ok ? "ok" : "VIOLATION");
  return ok ? 0 : 1;
}
