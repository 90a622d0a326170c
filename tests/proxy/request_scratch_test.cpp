// ScratchPool: a burst's request buffers are freed by trim(), a steady load keeps its own.
#include "proxy/dataplane/request_scratch.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace canaryd::proxy {
namespace {

std::vector<ScratchPool::Lease> take(ScratchPool& pool, std::size_t n) {
  std::vector<ScratchPool::Lease> leases;
  for (std::size_t i = 0; i < n; ++i) leases.push_back(pool.take());
  return leases;
}

TEST(ScratchPoolTest, KeepsWhatRequestsReturnUntilTrimmed) {
  ScratchPool pool;
  take(pool, 100);
  EXPECT_EQ(pool.kept(), 100u);
}

TEST(ScratchPoolTest, AQuietPoolIsTrimmedToItsReserve) {
  ScratchPool pool;
  take(pool, 500);  // a burst, over
  EXPECT_EQ(pool.trim(), 500u - ScratchPool::kReserve);
  EXPECT_EQ(pool.kept(), ScratchPool::kReserve);
  EXPECT_EQ(pool.trim(), 0u);
}

TEST(ScratchPoolTest, WhileRequestsRunOnlyWhatNoneNeededSinceTheLastTrimIsFreed) {
  ScratchPool pool;
  take(pool, 200);
  pool.trim();  // quiet: down to the reserve
  take(pool, 200);  // another burst
  auto steady = take(pool, 50);  // and a steady load that stays
  // Since the last trim the free list went down to 0: nothing is known to be unneeded yet.
  EXPECT_EQ(pool.trim(), 0u);
  EXPECT_EQ(pool.kept(), 150u);
  // In the next interval the steady load's requests come and go on the reserve's worth of blocks.
  for (int i = 0; i < 10; ++i) take(pool, 10);
  EXPECT_EQ(pool.trim(), 150u - 10u - ScratchPool::kReserve);
  EXPECT_EQ(pool.kept(), 10u + ScratchPool::kReserve);
}

}  // namespace
}  // namespace canaryd::proxy
