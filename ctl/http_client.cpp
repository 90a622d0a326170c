// HttpClient::send: one HTTP/1.1 exchange over Boost.Beast within a connect deadline and a total one (name
// resolution included), with a bound on the answer's size.
#include "ctl/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <optional>

#ifndef CANARYD_VERSION
#define CANARYD_VERSION "0.0.0"
#endif

namespace canaryd::ctl {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
/// Status and history are a few KiB; anything far larger is not canaryd.
constexpr std::uint64_t kMaxResponseBody = 8 * 1024 * 1024;

std::string seconds_text(std::chrono::milliseconds d) {
  const auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

Failure<TransportError> transport_error(std::string message) { return fail(TransportError{std::move(message)}); }

// Parameters by value: they live in the coroutine frame across every co_await. Always a value: the
// optional is there because co_spawn hands a default-constructed result to its handler when the
// coroutine throws, and a Result has no default.
asio::awaitable<std::optional<TransportResult>> exchange(ServerUrl server, HttpRequest request, HttpTimeouts timeouts,
                                                         Clock::time_point deadline) {
  auto executor = co_await asio::this_coro::executor;

  tcp::resolver resolver(executor);
  auto [resolve_ec, endpoints] = co_await resolver.async_resolve(server.host, std::to_string(server.port), kTuple);
  if (resolve_ec) co_return transport_error("cannot resolve " + server.host + ": " + resolve_ec.message());

  beast::tcp_stream stream(executor);
  stream.expires_at(std::min(Clock::now() + timeouts.connect, deadline));
  auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, kTuple);
  if (connect_ec == beast::error::timeout) {
    co_return transport_error("no connection within " + seconds_text(timeouts.connect));
  }
  if (connect_ec) co_return transport_error(connect_ec.message());

  const auto verb = http::string_to_verb(request.method);
  http::request<http::string_body> req{verb, request.target, 11};
  req.set(http::field::host, server.host_header);
  req.set(http::field::user_agent, "canaryctl/" CANARYD_VERSION);
  req.set(http::field::accept, "application/json");
  if (!request.token.empty()) req.set(http::field::authorization, "Bearer " + request.token);
  if (!request.body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = request.body;
  }
  req.keep_alive(false);
  req.prepare_payload();

  const auto timed_out = [&] {
    return transport_error("no answer within " +
                           seconds_text(std::chrono::duration_cast<std::chrono::milliseconds>(timeouts.total)));
  };
  stream.expires_at(deadline);
  auto [write_ec, written] = co_await http::async_write(stream, req, kTuple);
  if (write_ec == beast::error::timeout) co_return timed_out();
  if (write_ec) co_return transport_error("sending the request failed: " + write_ec.message());

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, kTuple);
  if (read_ec == beast::error::timeout) co_return timed_out();
  if (read_ec) co_return transport_error("reading the answer failed: " + read_ec.message());

  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);

  auto& res = parser.get();
  co_return HttpResponse{static_cast<int>(res.result_int()), std::string(res.reason()), std::move(res.body())};
}

}  // namespace

TransportResult HttpClient::send(const ServerUrl& server, const HttpRequest& request) {
  asio::io_context ioc{1};
  const auto deadline = Clock::now() + timeouts_.total;
  std::optional<TransportResult> result;
  asio::co_spawn(ioc, exchange(server, request, timeouts_, deadline),
                 [&result](std::exception_ptr failure, std::optional<TransportResult> r) {
                   if (failure) {
                     try {
                       std::rethrow_exception(failure);
                     } catch (const std::exception& e) {
                       result = transport_error(e.what());
                     } catch (...) {
                       result = transport_error("unknown failure");
                     }
                     return;
                   }
                   result = std::move(r);
                 });
  // The stream deadlines bound connect and exchange; this bounds name resolution too. A little slack
  // lets the stream report its own, more precise timeout first.
  ioc.run_for(timeouts_.total + std::chrono::milliseconds(500));
  if (!result) {
    return transport_error("no answer within " + seconds_text(timeouts_.total));
  }
  return std::move(*result);
}

}  // namespace canaryd::ctl
