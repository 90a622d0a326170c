// Unit tests of parsing canaryctl's server URL: host, port, IPv6, path prefix, refusals.
#include "ctl/server_url.hpp"

#include <gtest/gtest.h>

#include "tests/config/noting_error.hpp"

namespace canaryd::ctl {
namespace {

ServerUrl parse_ok(std::string_view text) {
  std::string error;
  auto u = noting_error(parse_server_url(text), error);
  if (!u) {
    ADD_FAILURE() << text << ": " << error;
    return {};
  }
  return *u;
}

std::string parse_error(std::string_view text) {
  std::string error;
  auto u = noting_error(parse_server_url(text), error);
  EXPECT_FALSE(u.ok()) << text;
  return error;
}

TEST(ServerUrlTest, SplitsHostPortAndPath) {
  auto u = parse_ok("http://127.0.0.1:9901");
  EXPECT_EQ(u.text, "http://127.0.0.1:9901");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 9901);
  EXPECT_EQ(u.host_header, "127.0.0.1:9901");
  EXPECT_EQ(u.base_path, "");
}

TEST(ServerUrlTest, DefaultsToPort80) {
  auto u = parse_ok("http://canaryd.internal");
  EXPECT_EQ(u.host, "canaryd.internal");
  EXPECT_EQ(u.port, 80);
  EXPECT_EQ(u.host_header, "canaryd.internal");
}

TEST(ServerUrlTest, KeepsIpv6BracketsOnlyInTheHostHeader) {
  auto u = parse_ok("http://[::1]:9901/");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.host_header, "[::1]:9901");
  EXPECT_EQ(u.base_path, "");
}

TEST(ServerUrlTest, KeepsAPathPrefixWithoutTrailingSlash) {
  EXPECT_EQ(parse_ok("http://h:1/canaryd/").base_path, "/canaryd");
  EXPECT_EQ(parse_ok("http://h:1/a/b").base_path, "/a/b");
}

TEST(ServerUrlTest, AcceptsHostPortWithoutScheme) {
  auto u = parse_ok("localhost:9901");
  EXPECT_EQ(u.host, "localhost");
  EXPECT_EQ(u.port, 9901);
  EXPECT_EQ(u.text, "localhost:9901");
}

TEST(ServerUrlTest, RefusesHttpsForNow) {
  EXPECT_NE(parse_error("https://127.0.0.1:9901").find("https is not supported yet"), std::string::npos);
}

TEST(ServerUrlTest, RefusesWhatCannotBeAControlAddress) {
  for (const char* bad : {"ftp://h/", "http://", "http://h:99999", "http://h:0", "http://h:", "http://u:p@h/",
                          "http://h/?q=1", "http://h/#f", "http://h:port", "http://a b"}) {
    std::string error;
    EXPECT_FALSE(noting_error(parse_server_url(bad), error).ok()) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

}  // namespace
}  // namespace canaryd::ctl
