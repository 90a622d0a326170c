// Distinct affinity keys for the affinity property checks, shared by tests/weights/affinity_test.cpp
// (10^5 keys) and bench/affinity_props.cpp (10^6): half sequential user ids ("user-0", "user-1", ...:
// nearly the same bytes, the hard case for a weak hash), half 32 random hex digits like a cookie canaryd
// sets itself, from a seeded generator so every run checks the same keys.
#pragma once

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace canaryd::weights::test_support {

inline std::vector<std::string> distinct_affinity_keys(std::size_t n, std::uint64_t seed) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (std::size_t i = 0; i < n / 2; ++i) keys.push_back("user-" + std::to_string(i));
  std::mt19937_64 rng(seed);
  char hex[33];
  while (keys.size() < n) {
    std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                  static_cast<unsigned long long>(rng()));
    keys.emplace_back(hex);
  }
  return keys;
}

}  // namespace canaryd::weights::test_support
