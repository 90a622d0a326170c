// The affinity bucket of affinity.hpp. Temporary (r12-dp) until r12-core's hash lands: FNV-1a keyed by
// the salt, with a splitmix64 finalizer.
#include "weights/affinity.hpp"

namespace canaryd::weights {

std::uint32_t affinity_bucket(std::string_view key, std::uint64_t salt) {
  std::uint64_t h = 1469598103934665603ull ^ salt;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return static_cast<std::uint32_t>(h % kAffinityBuckets);
}

}  // namespace canaryd::weights
