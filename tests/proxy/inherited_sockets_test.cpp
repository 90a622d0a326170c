// The pure parts of taking over listening sockets (hot upgrade, systemd socket activation) and the
// probe that finds a port another process holds.
#include "proxy/net/inherited_sockets.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include <gtest/gtest.h>

#include "proxy/net/port_probe.hpp"

namespace canaryd::proxy {
namespace {
using boost::asio::ip::make_address;
using boost::asio::ip::tcp;

tcp::endpoint ep(const char* address, unsigned short port) { return {make_address(address), port}; }

TEST(HandedSockets, RoundTrip) {
  std::vector<HandedSocket> in{{5, "listen", 0}, {6, "listen", 1}, {9, "control", 0}};
  auto out = parse_handed_sockets(encode_handed_sockets(in));
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_EQ(out->size(), 3u);
  EXPECT_EQ((*out)[1].fd, 6);
  EXPECT_EQ((*out)[1].index, 1u);
  EXPECT_EQ((*out)[2].role, "control");
}

TEST(HandedSockets, MalformedIsAnError) {
  for (const char* bad : {"5", "5:listen", "x:listen:0", "5:listen:", "5:other:0", "-1:listen:0", "5:listen:0,,"}) {
    auto parsed = parse_handed_sockets(bad);
    EXPECT_FALSE(parsed) << bad;
    const std::string error = parsed ? std::string() : parsed.error().message;
    EXPECT_NE(error.find(kInheritedFdsEnv), std::string::npos) << error;
  }
}

TEST(MatchInherited, ByAddressThenByRoleForPortZero) {
  std::vector<InheritedSocket> sockets{{10, ep("127.0.0.1", 8080), "", 0},
                                       {11, ep("127.0.0.1", 8080), "", 0},
                                       {12, ep("127.0.0.1", 9901), "", 0},
                                       {13, ep("::1", 4000), "listen", 1}};
  auto plan = match_inherited(sockets, {ep("127.0.0.1", 8080), ep("::1", 0)}, ep("127.0.0.1", 9901));
  EXPECT_EQ(plan.listen[0], (std::vector<int>{10, 11}));
  EXPECT_EQ(plan.listen[1], (std::vector<int>{13}));
  EXPECT_EQ(plan.control, 12);
  EXPECT_TRUE(plan.unmatched.empty());
}

TEST(MatchInherited, WhatMatchesNothingIsLeftOver) {
  std::vector<InheritedSocket> sockets{{10, ep("127.0.0.1", 8080), "", 0}, {11, ep("0.0.0.0", 8081), "", 0}};
  auto plan = match_inherited(sockets, {ep("127.0.0.1", 8080)}, ep("127.0.0.1", 9901));
  ASSERT_EQ(plan.unmatched.size(), 1u);
  EXPECT_EQ(plan.unmatched[0]->fd, 11);
  // A wildcard is not the loopback address: matching is exact.
  sockets = {{10, ep("0.0.0.0", 8080), "", 0}};
  plan = match_inherited(sockets, {ep("127.0.0.1", 8080)}, ep("127.0.0.1", 9901));
  EXPECT_EQ(plan.unmatched.size(), 1u);
  EXPECT_TRUE(plan.listen[0].empty());
}

TEST(ShareSockets, EverySocketHasAWorkerAndEveryWorkerASocket) {
  using Shares = std::vector<std::vector<std::size_t>>;
  EXPECT_EQ(share_sockets(2, 2), (Shares{{0}, {1}}));
  EXPECT_EQ(share_sockets(4, 2), (Shares{{0, 2}, {1, 3}}));   // an old process had more workers
  EXPECT_EQ(share_sockets(3, 2), (Shares{{0, 2}, {1}}));
  EXPECT_EQ(share_sockets(1, 3), (Shares{{0}, {0}, {0}}));    // systemd passes one socket per address
  EXPECT_EQ(share_sockets(2, 3), (Shares{{0}, {1}, {0}}));
  EXPECT_EQ(share_sockets(0, 2), (Shares{{}, {}}));
}

TEST(TakeInheritedSockets, SystemdVariablesForAnotherProcessAreIgnoredAndUnset) {
  ::setenv("LISTEN_FDS", "2", 1);
  ::setenv("LISTEN_PID", std::to_string(::getpid() + 1).c_str(), 1);
  ::setenv("LISTEN_FDNAMES", "a:b", 1);
  auto taken = take_inherited_sockets();
  ASSERT_TRUE(taken) << taken.error().message;
  EXPECT_TRUE(taken->sockets.empty());
  EXPECT_EQ(std::getenv("LISTEN_FDS"), nullptr);
  EXPECT_EQ(std::getenv("LISTEN_PID"), nullptr);
  EXPECT_EQ(std::getenv("LISTEN_FDNAMES"), nullptr);
}

TEST(TakeInheritedSockets, AHandedDescriptorThatIsNotAListenerIsAnError) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::setenv(kInheritedFdsEnv, (std::to_string(fds[0]) + ":listen:0").c_str(), 1);
  auto taken = take_inherited_sockets();
  EXPECT_FALSE(taken);
  const std::string error = taken ? std::string() : taken.error().message;
  EXPECT_NE(error.find("not a socket"), std::string::npos) << error;
  EXPECT_EQ(std::getenv(kInheritedFdsEnv), nullptr);
  ::close(fds[0]);
  ::close(fds[1]);
}

// A listener as another program would open it: SO_REUSEPORT set, which must not let canaryd join.
int listener(const char* address, unsigned short& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  auto e = ep(address, 0);
  EXPECT_EQ(::bind(fd, e.data(), static_cast<socklen_t>(e.size())), 0);
  EXPECT_EQ(::listen(fd, 8), 0);
  port = socket_local_endpoint(fd).port();
  return fd;
}

TEST(PortProbe, FindsAListenerOnTheAddressOrAWildcard) {
  unsigned short port = 0;
  int fd = listener("127.0.0.1", port);
  // A probe that fails names the problem; one that succeeds found none.
  auto probe = probe_listen_address(ep("127.0.0.1", port));
  ASSERT_TRUE(!probe);
  EXPECT_EQ(probe.error().message, "in use by another process");
  ::close(fd);
  EXPECT_FALSE(!probe_listen_address(ep("127.0.0.1", port)));

  fd = listener("0.0.0.0", port);
  EXPECT_TRUE(!probe_listen_address(ep("127.0.0.1", port)));
  ::close(fd);
  EXPECT_FALSE(!probe_listen_address(ep("127.0.0.1", 0)));
}

}  // namespace
}  // namespace canaryd::proxy
