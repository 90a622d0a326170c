// ReadDeadlines: the worker's one timer for the deadlines of upstream reads.
#include "proxy/dataplane/read_deadlines.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <functional>
#include <optional>

#include "proxy/net/no_throw.hpp"

namespace canaryd::proxy {
namespace {
namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

struct Pair {
  tcp::socket ours;
  tcp::socket peer;
};

Pair connected(asio::io_context& io, tcp::acceptor& acceptor) {
  tcp::socket ours(io);
  ours.connect(acceptor.local_endpoint());
  return {std::move(ours), acceptor.accept()};
}

struct Outcome {
  boost::system::error_code error;
  std::size_t bytes = 0;
  bool expired = false;
  std::chrono::steady_clock::duration took{};
};

// One read of `s` under a deadline of `timeout`; `then` runs when it has ended.
void read_once(asio::io_context& io, ReadDeadlines& deadlines, tcp::socket& s, std::chrono::milliseconds timeout,
               std::optional<Outcome>& out, std::function<void()> then = {}) {
  asio::co_spawn(
      io,
      [&, timeout, then]() -> asio::awaitable<void> {
        const auto start = std::chrono::steady_clock::now();
        char buffer[16];
        ReadDeadlines::Watch watch(deadlines, s, timeout);
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buffer), kNoThrow);
        out = Outcome{ec, n, watch.expired(), std::chrono::steady_clock::now() - start};
        if (then) then();
      },
      asio::detached);
}

class ReadDeadlinesTest : public ::testing::Test {
 protected:
  asio::io_context io;
  tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
  asio::steady_timer timer{io};
  ReadDeadlines deadlines{timer};

  void run_until(const std::function<bool()>& done) {
    while (!done()) io.run_one();
  }
};

TEST_F(ReadDeadlinesTest, ASilentPeersReadIsCancelledAtItsDeadlineAndAnAnsweredOneIsNot) {
  Pair silent = connected(io, acceptor);
  Pair answering = connected(io, acceptor);
  std::optional<Outcome> timed_out, answered;
  read_once(io, deadlines, silent.ours, 50ms, timed_out);
  read_once(io, deadlines, answering.ours, 10s, answered);
  EXPECT_EQ(deadlines.waiting(), 0u) << "spawned, not started yet";
  asio::write(answering.peer, asio::buffer("x", 1));
  run_until([&] { return timed_out && answered; });
  EXPECT_EQ(timed_out->error, asio::error::operation_aborted);
  EXPECT_TRUE(timed_out->expired);
  EXPECT_GE(timed_out->took, 50ms);
  EXPECT_FALSE(answered->error);
  EXPECT_EQ(answered->bytes, 1u);
  EXPECT_FALSE(answered->expired);
  EXPECT_EQ(deadlines.waiting(), 0u);
}

TEST_F(ReadDeadlinesTest, AShorterDeadlineRegisteredLaterStillExpiresFirst) {
  // A reload that shortens timeouts.upstream: the new read's deadline comes before the waiting one's.
  Pair long_wait = connected(io, acceptor);
  Pair short_wait = connected(io, acceptor);
  std::optional<Outcome> long_outcome, short_outcome;
  read_once(io, deadlines, long_wait.ours, 30s, long_outcome);
  io.poll();  // the long read waits first
  EXPECT_EQ(deadlines.waiting(), 1u);
  // When the short read has expired the long one must still be waiting: its peer then answers it.
  read_once(io, deadlines, short_wait.ours, 50ms, short_outcome, [&] {
    EXPECT_EQ(deadlines.waiting(), 1u);
    asio::write(long_wait.peer, asio::buffer("y", 1));
  });
  run_until([&] { return long_outcome && short_outcome; });
  EXPECT_TRUE(short_outcome->expired);
  EXPECT_LT(short_outcome->took, 10s);
  EXPECT_FALSE(long_outcome->expired);
  EXPECT_FALSE(long_outcome->error);
  EXPECT_EQ(long_outcome->bytes, 1u);
}

TEST_F(ReadDeadlinesTest, StopWhenIdleLetsTheEventLoopRunOutOfWork) {
  // Draining: the worker's thread ends when its io_context has nothing left, a timer armed for a
  // deadline nobody waits on any more included.
  Pair answering = connected(io, acceptor);
  std::optional<Outcome> answered;
  read_once(io, deadlines, answering.ours, 30s, answered);
  asio::write(answering.peer, asio::buffer("z", 1));
  run_until([&] { return answered.has_value(); });
  deadlines.stop_when_idle();
  const auto start = std::chrono::steady_clock::now();
  io.run();  // returns only once the timer is cancelled
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

}  // namespace
}  // namespace canaryd::proxy
