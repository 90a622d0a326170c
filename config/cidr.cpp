// CIDR blocks (see cidr.hpp): parsing with inet_pton, matching by prefix over IPv4-mapped bytes.
#include "config/cidr.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace canaryd::config {

namespace {

constexpr Ipv6Bytes mapped_prefix() {
  Ipv6Bytes b{};
  b[10] = 0xff;
  b[11] = 0xff;
  return b;
}

Ipv6Bytes mapped(const Ipv4Bytes& v4) {
  Ipv6Bytes b = mapped_prefix();
  for (std::size_t i = 0; i < 4; ++i) b[12 + i] = v4[i];
  return b;
}

/// True when the first `prefix` bits of a and b agree.
bool same_prefix(const Ipv6Bytes& a, const Ipv6Bytes& b, unsigned prefix) {
  const unsigned whole = prefix / 8;
  for (unsigned i = 0; i < whole; ++i) {
    if (a[i] != b[i]) return false;
  }
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

Result<Cidr> Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  const std::string host(text.substr(0, slash));
  Cidr block;
  Ipv4Bytes v4{};
  unsigned max_prefix = 128;
  if (inet_pton(AF_INET, host.c_str(), v4.data()) == 1) {
    block.v4_ = true;
    block.bytes_ = mapped(v4);
    max_prefix = 32;
  } else if (inet_pton(AF_INET6, host.c_str(), block.bytes_.data()) != 1) {
    return fail("must be an IPv4 or IPv6 address or CIDR block like 10.0.0.0/8 or fd00::/8, got \"" +
                std::string(text) + "\"");
  }
  unsigned prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || prefix > max_prefix) {
      return fail("prefix length must be a number from 0 to " + std::to_string(max_prefix) + ", got \"" +
                  std::string(text) + "\"");
    }
  }
  block.prefix_ = block.v4_ ? 96 + prefix : prefix;
  // Host bits must be zero: compare with the address masked to its prefix.
  Ipv6Bytes masked{};
  for (unsigned bit = 0; bit < block.prefix_; ++bit) {
    masked[bit / 8] |= static_cast<std::uint8_t>(block.bytes_[bit / 8] & (0x80 >> (bit % 8)));
  }
  if (masked != block.bytes_) {
    return fail("has bits set after its prefix length (\"" + std::string(text) + "\"; did you mean " +
                Cidr{masked, block.prefix_, block.v4_}.to_string() + "?)");
  }
  return block;
}

Cidr::Cidr(const Ipv6Bytes& bytes, unsigned prefix, bool v4) : bytes_(bytes), prefix_(prefix), v4_(v4) {}

bool Cidr::contains(const Ipv4Bytes& address) const { return same_prefix(bytes_, mapped(address), prefix_); }

bool Cidr::contains(const Ipv6Bytes& address) const { return same_prefix(bytes_, address, prefix_); }

std::string Cidr::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (v4_) {
    inet_ntop(AF_INET, bytes_.data() + 12, text, sizeof text);
    return std::string(text) + "/" + std::to_string(prefix_ - 96);
  }
  inet_ntop(AF_INET6, bytes_.data(), text, sizeof text);
  return std::string(text) + "/" + std::to_string(prefix_);
}

}  // namespace canaryd::config
