// UpstreamPool's bound on idle connections over all endpoints (the connection budget's share).
#include "proxy/dataplane/upstream_pool.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <vector>

#include "proxy/dataplane/worker_metrics.hpp"

namespace canaryd::proxy {
namespace {

UpstreamPool::Connection open_connection(boost::asio::io_context& io) {
  auto c = std::make_unique<FlexStream>(io.get_executor());
  c->socket().open(boost::asio::ip::tcp::v4());
  return c;
}

// Connected (an idle pooled connection must look open to the sweep), with the peers kept here.
class Upstream {
 public:
  explicit Upstream(boost::asio::io_context& io) : io_(io), acceptor_(io, {boost::asio::ip::make_address("127.0.0.1"), 0}) {}
  UpstreamPool::Connection connect() {
    auto c = std::make_unique<FlexStream>(io_.get_executor());
    c->socket().connect(acceptor_.local_endpoint());
    peers_.push_back(acceptor_.accept());
    return c;
  }

 private:
  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::vector<boost::asio::ip::tcp::socket> peers_;
};

TEST(UpstreamPoolTest, SweepClosesWhatABurstLeftBeyondTheNewestFew) {
  boost::asio::io_context io;
  Upstream upstream(io);
  WorkerMetrics metrics;
  UpstreamPool pool(metrics);
  const std::size_t burst = UpstreamPool::kKeptIdle + 5;
  for (std::size_t i = 0; i < burst; ++i) pool.give_back(0, upstream.connect());
  const auto now = std::chrono::steady_clock::now();
  EXPECT_EQ(pool.sweep({true}, now), 0u) << "just returned: still wanted";
  EXPECT_EQ(pool.idle(), burst);
  EXPECT_EQ(pool.sweep({true}, now + UpstreamPool::kUnneededAfter), 5u);
  EXPECT_EQ(pool.idle(), UpstreamPool::kKeptIdle);
  EXPECT_EQ(pool.sweep({true}, now + 10 * UpstreamPool::kUnneededAfter), 0u) << "the newest few stay";
  EXPECT_EQ(pool.idle(), UpstreamPool::kKeptIdle);
}

TEST(UpstreamPoolTest, KeepsNoMoreIdleConnectionsThanItsBoundOverAllEndpoints) {
  boost::asio::io_context io;
  WorkerMetrics metrics;
  UpstreamPool pool(metrics);
  pool.set_max_idle(3);
  for (std::uint32_t id = 0; id < 5; ++id) pool.give_back(id % 2, open_connection(io));
  EXPECT_EQ(pool.idle(), 3u);
  EXPECT_EQ(metrics.upstream_connections(), -2) << "the two beyond the bound were closed";
}

TEST(UpstreamPoolTest, ALowerBoundClosesTheExcessAtOnce) {
  boost::asio::io_context io;
  WorkerMetrics metrics;
  UpstreamPool pool(metrics);
  for (std::uint32_t id = 0; id < 6; ++id) pool.give_back(id % 3, open_connection(io));
  EXPECT_EQ(pool.idle(), 6u);
  pool.set_max_idle(2);
  EXPECT_EQ(pool.idle(), 2u);
  EXPECT_EQ(metrics.upstream_connections(), -4);
  // What is left is still handed out, and taking one frees room for one.
  std::size_t taken = 0;
  for (std::uint32_t id = 0; id < 3; ++id)
    while (pool.take(id, true)) ++taken;
  EXPECT_EQ(taken, 2u);
  EXPECT_EQ(pool.idle(), 0u);
}

TEST(UpstreamPoolTest, TakingAndClearingKeepTheCountTrue) {
  boost::asio::io_context io;
  WorkerMetrics metrics;
  UpstreamPool pool(metrics);
  pool.set_max_idle(4);
  for (int i = 0; i < 4; ++i) pool.give_back(0, open_connection(io));
  ASSERT_NE(pool.take(0, true), nullptr);
  pool.give_back(1, open_connection(io));
  EXPECT_EQ(pool.idle(), 4u);
  pool.close_removed({true, false});
  EXPECT_EQ(pool.idle(), 3u);
  pool.clear();
  EXPECT_EQ(pool.idle(), 0u);
  pool.give_back(0, open_connection(io));
  EXPECT_EQ(pool.idle(), 1u);
}

}  // namespace
}  // namespace canaryd::proxy
