// Unit tests of the control port's eviction choice: per-source and total bounds, idle first, handled never.
#include "proxy/control/control_connections.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace canaryd::proxy {
namespace {

using Phase = ControlConnections::Phase;
using Clock = ControlConnections::Clock;

const auto kA = boost::asio::ip::make_address("10.0.0.1");
const auto kB = boost::asio::ip::make_address("10.0.0.2");

Clock::time_point at(int seconds) { return Clock::time_point{} + std::chrono::seconds(seconds); }

std::vector<ControlConnections::Id> admitted(ControlConnections& c, ControlConnections::Id id,
                                             const boost::asio::ip::address& source, int second) {
  auto evicted = c.admit(id, source, at(second));
  EXPECT_TRUE(evicted.has_value()) << "connection " << id << " was refused";
  return evicted.value_or(std::vector<ControlConnections::Id>{});
}

TEST(ControlConnectionsTest, AFullSourceLosesItsLongestIdleConnectionNotTheNewOne) {
  ControlConnections c({2, 100});
  EXPECT_TRUE(admitted(c, 1, kA, 0).empty());
  EXPECT_TRUE(admitted(c, 2, kA, 1).empty());
  EXPECT_EQ(admitted(c, 3, kA, 2), std::vector<ControlConnections::Id>{1});
  // 2 has been idle longer than 3, unless it finished a request since.
  c.set_phase(2, Phase::Idle, at(5));
  EXPECT_EQ(admitted(c, 4, kA, 6), std::vector<ControlConnections::Id>{3});
  EXPECT_EQ(c.size(), 2u);
}

TEST(ControlConnectionsTest, OtherSourcesAreNotTouchedByOneSourcesBound) {
  ControlConnections c({1, 100});
  admitted(c, 1, kB, 0);
  EXPECT_EQ(admitted(c, 2, kA, 1), std::vector<ControlConnections::Id>{});
  EXPECT_EQ(admitted(c, 3, kA, 2), std::vector<ControlConnections::Id>{2});
  EXPECT_EQ(c.size(), 2u);
}

TEST(ControlConnectionsTest, IdleGoesBeforeAHeadArrivingAndAHandledRequestNeverGoes) {
  ControlConnections c({3, 100});
  admitted(c, 1, kA, 0);
  admitted(c, 2, kA, 1);
  admitted(c, 3, kA, 2);
  c.set_phase(1, Phase::Handling, at(3));
  c.set_phase(2, Phase::Reading, at(3));
  EXPECT_EQ(admitted(c, 4, kA, 4), std::vector<ControlConnections::Id>{3});  // the only idle one
  c.set_phase(4, Phase::Reading, at(5));
  EXPECT_EQ(admitted(c, 5, kA, 6), std::vector<ControlConnections::Id>{2});  // the oldest trickle
  c.set_phase(4, Phase::Handling, at(7));
  c.set_phase(5, Phase::Handling, at(7));
  EXPECT_FALSE(c.admit(6, kA, at(8)).has_value());  // all three are being answered
  EXPECT_EQ(c.size(), 3u);
}

TEST(ControlConnectionsTest, TheTotalBoundEvictsTheLongestIdleOfAnySource) {
  ControlConnections c({10, 3});
  admitted(c, 1, kA, 0);
  admitted(c, 2, kB, 1);
  admitted(c, 3, kB, 2);
  c.set_phase(1, Phase::Handling, at(2));
  EXPECT_EQ(admitted(c, 4, kA, 3), std::vector<ControlConnections::Id>{2});
  EXPECT_EQ(c.size(), 3u);
}

TEST(ControlConnectionsTest, RemovedAndEvictedConnectionsAreForgotten) {
  ControlConnections c({1, 10});
  admitted(c, 1, kA, 0);
  admitted(c, 2, kA, 1);  // evicts 1
  c.remove(1);            // its coroutine ends later: a no-op
  c.remove(2);
  EXPECT_EQ(c.size(), 0u);
  admitted(c, 3, kA, 2);
  admitted(c, 4, kB, 2);
  c.set_phase(3, Phase::Reading, at(3));
  EXPECT_EQ(c.idle(), std::vector<ControlConnections::Id>{4});
}

}  // namespace
}  // namespace canaryd::proxy
