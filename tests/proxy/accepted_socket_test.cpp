// accept_own: a client connection accepted non-blocking, with TCP_NODELAY from its listener.
#include "proxy/net/accepted_socket.hpp"

#include <fcntl.h>

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace canaryd::proxy {
namespace {
namespace asio = boost::asio;
using asio::ip::tcp;

TEST(AcceptedSocketTest, TakesAQueuedConnectionNonBlockingWithNoDelayAndItsPeer) {
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  acceptor.non_blocking(true);
  set_listener_options(acceptor);

  tcp::socket socket(io);
  tcp::endpoint peer;
  boost::system::error_code ec;
  accept_own(acceptor, socket, peer, ec);
  EXPECT_EQ(ec, asio::error::would_block) << "nothing queued: no waiting";
  EXPECT_FALSE(socket.is_open());

  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  accept_own(acceptor, socket, peer, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(peer, client.local_endpoint());
  EXPECT_NE(::fcntl(socket.native_handle(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_TRUE(socket.non_blocking()) << "Asio must know: write_all writes directly";
  tcp::no_delay no_delay;
  socket.get_option(no_delay);
  EXPECT_TRUE(no_delay.value());

  // Asio drives it like any socket of its own.
  asio::write(client, asio::buffer("ping", 4));
  char got[4] = {};
  std::size_t read = 0;
  asio::async_read(socket, asio::buffer(got), [&](boost::system::error_code rec, std::size_t n) {
    ec = rec;
    read = n;
  });
  io.run();
  EXPECT_FALSE(ec);
  EXPECT_EQ(std::string_view(got, read), "ping");
  socket.close(ec);
  EXPECT_FALSE(ec);
}

}  // namespace
}  // namespace canaryd::proxy
