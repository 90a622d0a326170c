// canaryctl's HTTP client against loopback sockets: a closed port, a real exchange, a silent server's
// timeout.
#include "ctl/http_client.hpp"

#include <gtest/gtest.h>

#include "tests/config/noting_error.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

namespace canaryd::ctl {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

ServerUrl local(std::uint16_t port) {
  std::string error;
  auto u = noting_error(parse_server_url("http://127.0.0.1:" + std::to_string(port)), error);
  EXPECT_TRUE(u.ok()) << error;
  return u.value_or(ServerUrl{});
}

TEST(HttpClientTest, ClosedPortIsATransportError) {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();  // nothing listens there now

  HttpClient client;
  auto r = client.send(local(port), HttpRequest{"GET", "/api/status", "", ""});
  ASSERT_TRUE(!r.ok());
  EXPECT_NE(r.error().message.find("refused"), std::string::npos)
      << r.error().message;
}

TEST(HttpClientTest, SendsTheRequestAndReadsTheAnswer) {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();

  http::request<http::string_body> seen;
  std::thread server([&] {
    tcp::socket socket = acceptor.accept();
    beast::flat_buffer buffer;
    http::read(socket, buffer, seen);
    http::response<http::string_body> res{http::status::conflict, 11};
    res.set(http::field::content_type, "application/json");
    res.body() = R"({"error": "no canary set"})";
    res.prepare_payload();
    http::write(socket, res);
  });

  HttpClient client;
  auto r = client.send(local(port), HttpRequest{"PUT", "/api/weight", R"({"canary_weight":5})", "tok"});
  server.join();

  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& res = r.value();
  EXPECT_EQ(res.status, 409);
  EXPECT_EQ(res.body, R"({"error": "no canary set"})");
  EXPECT_EQ(seen.method(), http::verb::put);
  EXPECT_EQ(seen.target(), "/api/weight");
  EXPECT_EQ(seen[http::field::host], "127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(seen[http::field::authorization], "Bearer tok");
  EXPECT_EQ(seen[http::field::content_type], "application/json");
  EXPECT_EQ(seen.body(), R"({"canary_weight":5})");
}

TEST(HttpClientTest, SilentServerTimesOut) {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  // The kernel completes the handshake from the backlog; nobody ever answers.
  HttpClient client(HttpTimeouts{std::chrono::milliseconds(200), std::chrono::milliseconds(300)});
  auto r = client.send(local(port), HttpRequest{"GET", "/api/status", "", ""});
  ASSERT_TRUE(!r.ok());
  EXPECT_EQ(r.error().message, "no answer within 300ms");
}

}  // namespace
}  // namespace canaryd::ctl
