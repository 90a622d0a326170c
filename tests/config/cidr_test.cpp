// Unit tests of CIDR blocks (routing.override_sources): parsing IPv4 and IPv6 with and without a prefix,
// the refusals, canonical text, and matching, IPv4-mapped IPv6 peers included.
#include "config/cidr.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <string>

namespace canaryd::config {
namespace {

Cidr block(const std::string& text) {
  auto parsed = Cidr::parse(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << (parsed ? "" : parsed.error().message);
  return parsed.value_or(Cidr{});
}

Ipv4Bytes v4(const char* text) {
  Ipv4Bytes b{};
  EXPECT_EQ(inet_pton(AF_INET, text, b.data()), 1) << text;
  return b;
}

Ipv6Bytes v6(const char* text) {
  Ipv6Bytes b{};
  EXPECT_EQ(inet_pton(AF_INET6, text, b.data()), 1) << text;
  return b;
}

TEST(CidrTest, ParsesAndPrintsCanonically) {
  EXPECT_EQ(block("10.0.0.0/8").to_string(), "10.0.0.0/8");
  EXPECT_EQ(block("192.168.1.7").to_string(), "192.168.1.7/32");
  EXPECT_EQ(block("0.0.0.0/0").to_string(), "0.0.0.0/0");
  EXPECT_EQ(block("::1/128").to_string(), "::1/128");
  EXPECT_EQ(block("::1").to_string(), "::1/128");
  EXPECT_EQ(block("FD00:0::/8").to_string(), "fd00::/8");
  EXPECT_EQ(block("::/0").to_string(), "::/0");
}

TEST(CidrTest, RefusesWhatIsNotABlock) {
  for (const char* bad : {"", "10.0.0.0/", "10.0.0.0/33", "::1/129", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0/8",
                          "example.com", "10.0.0.0 /8", "/8", "10.0.0.0/8/8", "[::1]/128"}) {
    EXPECT_FALSE(Cidr::parse(bad).ok()) << bad;
  }
}

TEST(CidrTest, RefusesHostBitsAfterThePrefixAndSuggestsTheBlock) {
  const auto parsed = Cidr::parse("10.1.2.3/8");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("did you mean 10.0.0.0/8?"), std::string::npos) << parsed.error().message;
  EXPECT_FALSE(Cidr::parse("fd00::1/64").ok());
}

TEST(CidrTest, MatchesIpv4ByPrefix) {
  const Cidr ten = block("10.0.0.0/8");
  EXPECT_TRUE(ten.contains(v4("10.0.0.0")));
  EXPECT_TRUE(ten.contains(v4("10.255.255.255")));
  EXPECT_FALSE(ten.contains(v4("11.0.0.0")));
  EXPECT_FALSE(ten.contains(v4("9.255.255.255")));
  const Cidr odd = block("192.168.4.0/22");  // a prefix inside a byte
  EXPECT_TRUE(odd.contains(v4("192.168.7.255")));
  EXPECT_FALSE(odd.contains(v4("192.168.8.0")));
  EXPECT_FALSE(odd.contains(v4("192.168.3.255")));
  EXPECT_TRUE(block("0.0.0.0/0").contains(v4("203.0.113.9")));
  EXPECT_TRUE(block("127.0.0.1").contains(v4("127.0.0.1")));
  EXPECT_FALSE(block("127.0.0.1").contains(v4("127.0.0.2")));
}

TEST(CidrTest, MatchesIpv6ByPrefix) {
  const Cidr ula = block("fd00::/8");
  EXPECT_TRUE(ula.contains(v6("fd12:3456::1")));
  EXPECT_FALSE(ula.contains(v6("fe80::1")));
  EXPECT_TRUE(block("::1/128").contains(v6("::1")));
  EXPECT_FALSE(block("::1/128").contains(v6("::2")));
  EXPECT_FALSE(block("::1").contains(v4("127.0.0.1")));  // ::1 is not 127.0.0.1
}

TEST(CidrTest, AnIpv4MappedPeerMatchesTheIpv4Blocks) {
  // A dual-stack listener ([::]:port) reports IPv4 clients as ::ffff:a.b.c.d.
  EXPECT_TRUE(block("10.0.0.0/8").contains(v6("::ffff:10.1.2.3")));
  EXPECT_FALSE(block("10.0.0.0/8").contains(v6("::ffff:11.1.2.3")));
  EXPECT_TRUE(block("127.0.0.1").contains(v6("::ffff:127.0.0.1")));
  // A plain IPv6 address whose last bytes look like 10.x is not an IPv4 peer.
  EXPECT_FALSE(block("10.0.0.0/8").contains(v6("::10.1.2.3")));
  EXPECT_FALSE(block("0.0.0.0/0").contains(v6("2001:db8::1")));
}

TEST(CidrTest, AnyContainsLooksAtEveryBlock) {
  const std::vector<Cidr> blocks = {block("10.0.0.0/8"), block("::1")};
  EXPECT_TRUE(any_contains(blocks, v4("10.9.9.9")));
  EXPECT_TRUE(any_contains(blocks, v6("::1")));
  EXPECT_FALSE(any_contains(blocks, v4("192.0.2.1")));
  EXPECT_FALSE(any_contains(std::vector<Cidr>{}, v4("10.9.9.9")));
}

}  // namespace
}  // namespace canaryd::config
