// An address block of routing.override_sources ("10.0.0.0/8", "::1/128"): parsed from the config, and
// whether a TCP peer's address is in it (IPv4-mapped IPv6 peers match IPv4 blocks).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

#include "config/result.hpp"

namespace canaryd::config {

struct Cidr {
  std::array<std::uint8_t, 16> bytes{};  ///< IPv6, or IPv4 as ::ffff:a.b.c.d
  unsigned prefix = 128;                 ///< over the 128 bits (an IPv4 /8 is 104)

  static Result<Cidr> parse(std::string_view text);
  bool contains(const boost::asio::ip::address& address) const;
};

}  // namespace canaryd::config
