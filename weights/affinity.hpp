// Sticky users (contract section 8): an affinity key's bucket, 0..9999, a stable and well-mixed hash of
// the key salted per canary definition. The key goes to the canary exactly when its bucket is below the
// weight in basis points, so raising the weight only moves keys stable -> canary and lowering only back;
// the same key, salt and weight give the same set on every worker and every replica, with no
// coordination at request time. No allocation: it runs on the request path.
#pragma once

#include <cstdint>
#include <string_view>

#include "config/weight.hpp"

namespace canaryd::weights {

inline constexpr std::uint32_t kAffinityBuckets = config::kMaxBasisPoints;  // 10,000

/// The key's bucket under `salt`: 0..kAffinityBuckets-1.
std::uint32_t affinity_bucket(std::string_view key, std::uint64_t salt);

/// True when a key in `bucket` goes to the canary at `weight`.
constexpr bool affinity_canary(std::uint32_t bucket, config::BasisPoints weight) { return bucket < weight; }

}  // namespace canaryd::weights
