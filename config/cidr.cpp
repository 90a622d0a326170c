// The address blocks of cidr.hpp.
#include "config/cidr.hpp"

#include <charconv>

namespace canaryd::config {
namespace {

std::array<std::uint8_t, 16> as_v6_bytes(const boost::asio::ip::address& a) {
  if (a.is_v4()) return boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, a.to_v4()).to_bytes();
  return a.to_v6().to_bytes();
}

}  // namespace

Result<Cidr> Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(text.substr(0, slash)), ec);
  if (ec) return fail("not an IP address or CIDR: \"" + std::string(text) + "\"");
  const unsigned bits = address.is_v4() ? 32 : 128;
  unsigned len = bits;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (digits.empty() || err != std::errc{} || end != digits.data() + digits.size() || len > bits)
      return fail("invalid prefix length in \"" + std::string(text) + "\"");
  }
  Cidr c;
  c.bytes = as_v6_bytes(address);
  c.prefix = len + (128 - bits);
  return c;
}

bool Cidr::contains(const boost::asio::ip::address& address) const {
  const auto b = as_v6_bytes(address);  // an IPv4-mapped IPv6 address has the IPv4 one's bytes
  unsigned left = prefix;
  for (std::size_t i = 0; i < 16 && left > 0; ++i) {
    const unsigned n = left >= 8 ? 8 : left;
    const auto mask = static_cast<std::uint8_t>(0xff00u >> n);
    if ((b[i] & mask) != (bytes[i] & mask)) return false;
    left -= n;
  }
  return true;
}

}  // namespace canaryd::config
