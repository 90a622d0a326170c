// The affinity bucket (see affinity.hpp): a salted 64-bit hash of the key's bytes, then modulo 10,000.
//
// The hash chains the SplitMix64 finalizer (a bijection on 64 bits with full avalanche) over the key
// read as little-endian 8-byte words: h = mix(h ^ word), seeded from the salt and the length, and a
// last mix with the salt again. Every step is a fixed arithmetic on fixed-width integers, so the value
// is the same on every build, compiler, worker and replica (std::hash promises none of that), and the
// words are read little-endian whatever the CPU. It is not a cryptographic hash and need not be: a
// client that picks its own key can pick its own set anyway (it is its cookie), and the salt only
// has to make each canary definition expose a different slice of users.
//
// Modulo bias: 2^64 % 10,000 = 1,616, so buckets 0..1615 have one preimage more than the others out of
// about 1.8 * 10^15 each: a relative bias of 5 * 10^-16, far below anything a test could see.
#include "weights/affinity.hpp"

#include <bit>
#include <cstring>

namespace canaryd::weights {

namespace {

constexpr std::uint64_t kGolden = 0x9e3779b97f4a7c15ULL;  // 2^64 / phi, the SplitMix64 increment

/// The SplitMix64 finalizer (Stafford's variant 13): a bijection whose every output bit depends on
/// every input bit.
constexpr std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

/// Up to 8 bytes as a little-endian word (missing bytes are zero; the length is mixed in separately).
std::uint64_t load_le(const char* p, std::size_t n) {
  unsigned char bytes[8] = {};
  std::memcpy(bytes, p, n);
  std::uint64_t word = 0;
  for (std::size_t i = 0; i < 8; ++i) word |= static_cast<std::uint64_t>(bytes[i]) << (8 * i);
  return word;
}

/// The salted 64-bit hash of the key.
std::uint64_t affinity_hash(std::string_view key, std::uint64_t salt) {
  std::uint64_t h = mix(salt + kGolden) ^ mix(static_cast<std::uint64_t>(key.size()) + 2 * kGolden);
  const char* p = key.data();
  std::size_t left = key.size();
  for (; left >= 8; p += 8, left -= 8) h = mix(h ^ load_le(p, 8)) + kGolden;
  if (left > 0) h = mix(h ^ load_le(p, left)) + kGolden;
  return mix(h ^ std::rotl(salt, 32));
}

}  // namespace

std::uint32_t affinity_bucket(std::string_view key, std::uint64_t salt) {
  return static_cast<std::uint32_t>(affinity_hash(key, salt) % kAffinityBuckets);
}

}  // namespace canaryd::weights
