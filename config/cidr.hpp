// An address block in CIDR notation ("10.0.0.0/8", "::1/128", a bare address = one host), for
// routing.override_sources (contract section 8): whose overrides are honoured. Matched against raw
// address bytes so that this layer needs no socket types; an IPv4-mapped IPv6 peer (::ffff:a.b.c.d, what
// a dual-stack listener reports) matches the IPv4 blocks. No allocation in contains(): it runs on the
// request path.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/result.hpp"

namespace canaryd::config {

using Ipv4Bytes = std::array<std::uint8_t, 4>;
using Ipv6Bytes = std::array<std::uint8_t, 16>;

class Cidr {
 public:
  Cidr() = default;  ///< ::/0 as an IPv6 block (parse() makes the real ones)
  /// "a.b.c.d/n" (n 0..32), "v6/n" (n 0..128), or a bare address (/32, /128). Host bits under the
  /// prefix must be zero ("10.0.0.1/8" is refused, as a typo for 10.0.0.1/32 or 10.0.0.0/8 would be
  /// silently widened otherwise).
  static Result<Cidr> parse(std::string_view text);

  bool contains(const Ipv4Bytes& address) const;
  /// An IPv4-mapped address (::ffff:a.b.c.d) is matched as the IPv4 address it carries.
  bool contains(const Ipv6Bytes& address) const;

  /// Canonical text: "10.0.0.0/8", "::1/128".
  std::string to_string() const;
  bool operator==(const Cidr&) const = default;

 private:
  Cidr(const Ipv6Bytes& bytes, unsigned prefix, bool v4);

  Ipv6Bytes bytes_{};   ///< IPv4 blocks as IPv4-mapped IPv6 (::ffff:a.b.c.d)
  unsigned prefix_ = 0;  ///< over the 128 bits (an IPv4 /n is 96 + n)
  bool v4_ = false;
};

/// True when some block of `blocks` contains `address` (4 or 16 bytes, by overload).
template <class Bytes>
bool any_contains(const std::vector<Cidr>& blocks, const Bytes& address) {
  for (const auto& block : blocks) {
    if (block.contains(address)) return true;
  }
  return false;
}

}  // namespace canaryd::config
