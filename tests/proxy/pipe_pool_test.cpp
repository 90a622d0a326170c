// PipePool: empty pipes are kept for the next relay, pipes with bytes in them are closed, and nothing leaks.
#include "proxy/net/pipe_pool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

namespace canaryd::proxy {
namespace {

std::size_t open_descriptors() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

TEST(PipePoolTest, LendsAPipeThatCarriesBytes) {
  PipePool pool;
  auto pipe = pool.take();
  ASSERT_TRUE(pipe);
  EXPECT_GE(pipe->capacity, 4096u);
  EXPECT_EQ(::write(pipe->write_end, "abc", 3), 3);
  char got[3];
  EXPECT_EQ(::read(pipe->read_end, got, 3), 3);
  EXPECT_EQ(std::string_view(got, 3), "abc");
  EXPECT_EQ(::fcntl(pipe->read_end, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  EXPECT_EQ(::fcntl(pipe->write_end, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
}

TEST(PipePoolTest, AnEmptyPipeIsKeptAndLentAgain) {
  PipePool pool;
  int read_end = -1;
  {
    auto pipe = pool.take();
    ASSERT_TRUE(pipe);
    read_end = pipe->read_end;
  }
  EXPECT_EQ(pool.kept(), 1u);
  EXPECT_EQ(pool.open(), 1u);
  auto again = pool.take();
  EXPECT_EQ(again->read_end, read_end);
  EXPECT_EQ(pool.kept(), 0u);
}

TEST(PipePoolTest, APipeGivenBackWithBytesInItIsClosed) {
  PipePool pool;
  {
    auto pipe = pool.take();
    ASSERT_TRUE(pipe);
    ASSERT_EQ(::write(pipe->write_end, "abc", 3), 3);
    pipe->held = 3;  // a relay that failed half way
  }
  EXPECT_EQ(pool.kept(), 0u);
  EXPECT_EQ(pool.open(), 0u);
  auto next = pool.take();
  ASSERT_TRUE(next);
  char byte;
  EXPECT_EQ(::read(next->read_end, &byte, 1), -1) << "a new pipe starts empty";
}

TEST(PipePoolTest, ABurstKeepsAtMostKKeepAndLeaksNothing) {
  const std::size_t before = open_descriptors();
  {
    PipePool pool;
    {
      std::vector<PipePool::Lease> burst;
      for (std::size_t i = 0; i < PipePool::kKeep + 10; ++i) burst.push_back(pool.take());
      EXPECT_EQ(pool.open(), PipePool::kKeep + 10);
      EXPECT_EQ(open_descriptors(), before + 2 * (PipePool::kKeep + 10));
    }
    EXPECT_EQ(pool.kept(), PipePool::kKeep);
    EXPECT_EQ(pool.open(), PipePool::kKeep);
    EXPECT_EQ(open_descriptors(), before + 2 * PipePool::kKeep);
  }
  EXPECT_EQ(open_descriptors(), before);
}

}  // namespace
}  // namespace canaryd::proxy
