// Unit tests of an endpoint's active-health thresholds.
#include "proxy/control/endpoint_health.hpp"

#include <gtest/gtest.h>

namespace canaryd::proxy {
namespace {

TEST(EndpointHealthTest, StartsHealthy) { EXPECT_TRUE(EndpointHealth{}.healthy()); }

TEST(EndpointHealthTest, TurnsUnhealthyOnlyAfterThresholdFailuresInARow) {
  EndpointHealth h;
  EXPECT_FALSE(h.record(false, 2, 3));
  EXPECT_FALSE(h.record(false, 2, 3));
  EXPECT_TRUE(h.healthy());
  EXPECT_TRUE(h.record(false, 2, 3));
  EXPECT_FALSE(h.healthy());
}

TEST(EndpointHealthTest, ASuccessBreaksAFailureStreak) {
  EndpointHealth h;
  h.record(false, 2, 3);
  h.record(false, 2, 3);
  EXPECT_FALSE(h.record(true, 2, 3));
  EXPECT_FALSE(h.record(false, 2, 3));
  EXPECT_FALSE(h.record(false, 2, 3));
  EXPECT_TRUE(h.healthy());
}

TEST(EndpointHealthTest, RecoversAfterHealthyThresholdSuccesses) {
  EndpointHealth h;
  for (int i = 0; i < 3; ++i) h.record(false, 2, 3);
  ASSERT_FALSE(h.healthy());
  EXPECT_FALSE(h.record(true, 2, 3));
  EXPECT_FALSE(h.healthy());
  EXPECT_TRUE(h.record(true, 2, 3));
  EXPECT_TRUE(h.healthy());
}

TEST(EndpointHealthTest, ThresholdOneFlipsAtOnce) {
  EndpointHealth h;
  EXPECT_TRUE(h.record(false, 1, 1));
  EXPECT_TRUE(h.record(true, 1, 1));
}

}  // namespace
}  // namespace canaryd::proxy
