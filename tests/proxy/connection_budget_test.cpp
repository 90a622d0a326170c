// The default of limits.max_connections from RLIMIT_NOFILE, and the idle upstream pool's share.
#include "proxy/control/connection_budget.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace canaryd::proxy {
namespace {

DescriptorUsers users(std::uint64_t limit) {
  DescriptorUsers u;
  u.descriptor_limit = limit;
  u.workers = 2;
  u.listeners = 1;
  u.endpoints = 4;
  u.control_connections = 64;
  return u;
}

TEST(ConnectionBudgetTest, ReservesForTheProcessWorkersControlPortAndProbes) {
  const auto b = connection_budget(users(1024));
  // 32 for the process, 2 workers x (3 + 1 listener), 1 control listener + 64 connections, 4 probes.
  EXPECT_EQ(b.reserved, 32u + 8u + 65u + 4u);
}

TEST(ConnectionBudgetTest, EveryClientConnectionMayHoldAnUpstreamConnectionBesideTheIdlePool) {
  const auto b = connection_budget(users(1024));
  const std::uint64_t rest = 1024 - b.reserved;
  EXPECT_EQ(b.idle_upstream, rest / 8);
  EXPECT_EQ(b.max_connections, (rest - rest / 8) / 2);
  EXPECT_EQ(b.idle_upstream_per_worker, b.idle_upstream / 2);
  // What the formula promises: all of it fits in the limit.
  EXPECT_LE(b.reserved + 2 * b.max_connections + b.idle_upstream_per_worker * 2, 1024u);
}

TEST(ConnectionBudgetTest, TheReserveGrowsWithWorkersListenersAndEndpoints) {
  auto u = users(4096);
  const auto base = connection_budget(u);
  u.workers = 4;
  EXPECT_EQ(connection_budget(u).reserved, base.reserved + 2 * (kWorkerReserve + 1));
  u = users(4096);
  u.listeners = 3;
  EXPECT_EQ(connection_budget(u).reserved, base.reserved + 2 * 2);
  u = users(4096);
  u.endpoints = 104;
  EXPECT_EQ(connection_budget(u).reserved, base.reserved + 100);
  EXPECT_LT(connection_budget(u).max_connections, base.max_connections);
}

TEST(ConnectionBudgetTest, ALimitBelowTheReserveStillAllowsOneConnection) {
  const auto b = connection_budget(users(64));
  EXPECT_EQ(b.max_connections, 1u);
  EXPECT_EQ(b.idle_upstream, 0u);
  EXPECT_EQ(b.idle_upstream_per_worker, 0u);
}

TEST(ConnectionBudgetTest, AnUnlimitedDescriptorLimitDoesNotWrap) {
  auto u = users(std::numeric_limits<std::uint64_t>::max());
  u.endpoints = std::numeric_limits<std::size_t>::max();
  const auto b = connection_budget(u);
  EXPECT_EQ(b.reserved, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(b.max_connections, 1u);
  const auto unlimited = connection_budget(users(std::numeric_limits<std::uint64_t>::max()));
  EXPECT_GT(unlimited.max_connections, std::uint64_t{1} << 62);
}

TEST(ConnectionBudgetTest, NoWorkersCountsAsOneForThePoolShare) {
  auto u = users(1024);
  u.workers = 0;
  const auto b = connection_budget(u);
  EXPECT_EQ(b.idle_upstream_per_worker, b.idle_upstream);
}

}  // namespace
}  // namespace canaryd::proxy
