// Unit tests of config addresses: "host:port" and "[v6]:port" parsing, port ranges, printing as written.
#include "config/address.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/config/noting_error.hpp"

namespace canaryd::config {
namespace {

std::optional<HostPort> parse(std::string_view text, bool allow_zero = false) {
  auto parsed = parse_host_port(text, allow_zero);
  if (!parsed) return std::nullopt;
  return *parsed;
}

std::string error_of(std::string_view text, bool allow_zero = false) {
  std::string error;
  EXPECT_FALSE(noting_error(parse_host_port(text, allow_zero), error).ok()) << text;
  return error;
}

TEST(AddressTest, ParsesIpv4HostAndPort) {
  EXPECT_EQ(parse("127.0.0.1:18081"), (HostPort{"127.0.0.1", 18081}));
  EXPECT_EQ(parse("0.0.0.0:31180"), (HostPort{"0.0.0.0", 31180}));
}

TEST(AddressTest, ParsesHostNames) {
  EXPECT_EQ(parse("localhost:80"), (HostPort{"localhost", 80}));
  EXPECT_EQ(parse("nginx-v1.default.svc:8080"), (HostPort{"nginx-v1.default.svc", 8080}));
}

TEST(AddressTest, ParsesBracketedIpv6) {
  EXPECT_EQ(parse("[::1]:8080"), (HostPort{"::1", 8080}));
  EXPECT_EQ(parse("[::]:31180"), (HostPort{"::", 31180}));
}

TEST(AddressTest, PrintsAsWritten) {
  EXPECT_EQ((HostPort{"127.0.0.1", 80}).to_string(), "127.0.0.1:80");
  EXPECT_EQ((HostPort{"::1", 80}).to_string(), "[::1]:80");
}

TEST(AddressTest, PortZeroOnlyWhenAllowed) {
  EXPECT_EQ(error_of("127.0.0.1:0"), "invalid address \"127.0.0.1:0\": port 0 is out of range (1 to 65535)");
  EXPECT_EQ(parse("127.0.0.1:0", /*allow_zero=*/true), (HostPort{"127.0.0.1", 0}));
}

TEST(AddressTest, PortAboveRangeIsRejected) {
  EXPECT_EQ(error_of("127.0.0.1:65536"),
            "invalid address \"127.0.0.1:65536\": port 65536 is out of range (1 to 65535)");
  EXPECT_FALSE(parse("127.0.0.1:99999999999999999999999").has_value());
  EXPECT_TRUE(parse("127.0.0.1:65535").has_value());
}

TEST(AddressTest, UnbracketedIpv6IsRejected) {
  EXPECT_EQ(error_of("::1:8080"), "invalid address \"::1:8080\": an IPv6 address must be in brackets, e.g. [::1]:8080");
}

TEST(AddressTest, MalformedAddressesAreRejected) {
  EXPECT_EQ(error_of("localhost"), "invalid address \"localhost\": expected host:port (IPv6 as [::1]:port)");
  EXPECT_EQ(error_of(":80"), "invalid address \":80\": empty host (use 0.0.0.0:port to listen on every address)");
  EXPECT_EQ(error_of("127.0.0.1:"), "invalid address \"127.0.0.1:\": missing port after ':'");
  EXPECT_EQ(error_of("127.0.0.1:http"), "invalid address \"127.0.0.1:http\": the port must be a number, got \"http\"");
  EXPECT_EQ(error_of("127.0.0.1:+80"), "invalid address \"127.0.0.1:+80\": the port must be a number, got \"+80\"");
  EXPECT_EQ(error_of("[::1]8080"), "invalid address \"[::1]8080\": expected ':port' after ']' (use [v6]:port)");
  EXPECT_EQ(error_of("[::1:8080"), "invalid address \"[::1:8080\": missing ']' after the IPv6 address");
  EXPECT_EQ(error_of("[]:80"), "invalid address \"[]:80\": empty host between '[' and ']'");
  EXPECT_EQ(error_of("[nope]:80"), "invalid address \"[nope]:80\": invalid IPv6 address \"nope\"");
  EXPECT_EQ(error_of("300.0.0.1:80"), "invalid address \"300.0.0.1:80\": invalid IPv4 address \"300.0.0.1\"");
  EXPECT_EQ(error_of("local host:80"), "invalid address \"local host:80\": invalid character ' ' in the host");
  EXPECT_FALSE(parse("").has_value());
  EXPECT_FALSE(parse(" 127.0.0.1:80").has_value());
}

}  // namespace
}  // namespace canaryd::config
