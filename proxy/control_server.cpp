#include "proxy/control_server.hpp"

#include <set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "proxy/no_throw.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {
constexpr auto kRequestTimeout = std::chrono::seconds(10);
constexpr auto kLingerTime = std::chrono::seconds(1);

std::string json_error(std::string_view message) {
  std::string out = "{\"error\": \"";
  out += message;  // fixed ASCII messages only
  out += "\"}";
  return out;
}
}  // namespace

struct ControlServer::State : std::enable_shared_from_this<ControlServer::State> {
  State(tcp::acceptor a, Handler h) : acceptor(std::move(a)), handler(std::move(h)) {}
  tcp::acceptor acceptor;
  Handler handler;
  int connections = 0;
  bool paused = false;
  unsigned accept_generation = 0;  ///< an accept loop of an older generation ends (pause, then resume)
  std::set<beast::tcp_stream*> waiting;  ///< connections waiting for the next request

  asio::awaitable<void> accept_loop(unsigned generation) {
    auto self = shared_from_this();
    asio::steady_timer backoff(acceptor.get_executor());
    for (;;) {
      if (paused || generation != accept_generation) co_return;
      auto [ec, socket] = co_await acceptor.async_accept(kNoThrow);
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {
        backoff.expires_after(std::chrono::milliseconds(50));
        co_await backoff.async_wait(kNoThrow);
        continue;
      }
      if (connections >= kMaxConnections) {
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      // Counted here, not when serve() starts: co_spawn runs it later, after more accepts perhaps.
      ++connections;
      asio::co_spawn(acceptor.get_executor(), serve(self, std::move(socket)), asio::detached);
    }
  }

  static asio::awaitable<void> serve(std::shared_ptr<State> self, tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(16 * 1024);
      parser.body_limit(kMaxBodyBytes);
      stream.expires_after(kRequestTimeout);
      if (buffer.size() == 0) self->waiting.insert(&stream);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
      self->waiting.erase(&stream);
      if (ec) {
        int status = ec == http::error::body_limit ? 413 : ec == http::error::header_limit ? 431 : 400;
        bool silent = ec == http::error::end_of_stream || ec == beast::error::timeout ||
                      ec == asio::error::connection_reset || ec == asio::error::eof ||
                      ec == asio::error::operation_aborted;
        if (!silent) {
          http::response<http::string_body> res{static_cast<http::status>(status), 11};
          res.set(http::field::content_type, "application/json");
          res.set(http::field::connection, "close");
          res.body() = json_error(status == 413 ? "request body over 64 KiB" : "malformed request");
          res.prepare_payload();
          co_await http::async_write(stream, res, kNoThrow);
          // Read what the client is still sending so that it sees this answer, not a reset.
          boost::system::error_code ignored;
          stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
          stream.expires_after(kLingerTime);
          char sink[4096];
          for (;;) {
            auto [rec, rn] = co_await stream.async_read_some(asio::buffer(sink), kNoThrow);
            if (rec) break;
          }
        }
        break;
      }
      auto& req = parser.get();
      ControlRequest call;
      call.method = std::string(req.method_string());
      call.target = std::string(req.target());
      call.body = std::move(req.body());
      if (auto it = req.find(http::field::authorization); it != req.end()) call.authorization = std::string(it->value());
      const bool read_only = req.method() == http::verb::get || req.method() == http::verb::head;
      ControlReply reply;
      if (self->paused && !read_only) {
        // Paused for a hot upgrade: the successor answers the retry, with the state this one left.
        reply.status = 503;
        reply.body = json_error("canaryd is being upgraded; retry");
      } else {
        reply = self->handler(call);
      }

      http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
      res.set(http::field::content_type, reply.content_type);
      res.set(http::field::cache_control, "no-store");
      if (!reply.allow.empty()) res.set(http::field::allow, reply.allow);
      res.keep_alive(req.keep_alive() && !self->paused);
      if (req.method() == http::verb::head) {
        // HEAD: the length of what GET would send, and no body.
        res.content_length(reply.body.size());
      } else {
        res.body() = std::move(reply.body);
        res.prepare_payload();
      }
      stream.expires_after(kRequestTimeout);
      auto [wec, wn] = co_await http::async_write(stream, res, kNoThrow);
      if (wec || !res.keep_alive()) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.socket().close(ignored);
    --self->connections;
  }
};

ControlServer::ControlServer(asio::io_context& io, const tcp::endpoint& address, Handler handler)
    : state_(std::make_shared<State>(tcp::acceptor(io), std::move(handler))) {
  auto& a = state_->acceptor;
  a.open(address.protocol());
  a.set_option(asio::socket_base::reuse_address(true));
  a.bind(address);
  a.listen(asio::socket_base::max_listen_connections);
}

ControlServer::ControlServer(asio::io_context&, tcp::acceptor listening, Handler handler)
    : state_(std::make_shared<State>(std::move(listening), std::move(handler))) {}

ControlServer::~ControlServer() { stop(); }

void ControlServer::start() {
  asio::co_spawn(state_->acceptor.get_executor(), state_->accept_loop(state_->accept_generation), asio::detached);
}

void ControlServer::pause() {
  if (state_->paused) return;
  state_->paused = true;
  ++state_->accept_generation;
  boost::system::error_code ignored;
  state_->acceptor.cancel(ignored);
  // An idle connection is closed, unless the next request is already waiting in the kernel.
  for (auto* stream : std::set<beast::tcp_stream*>(state_->waiting))
    if (stream->socket().available(ignored) == 0) stream->cancel();
}

void ControlServer::resume() {
  if (!state_->paused) return;
  state_->paused = false;
  ++state_->accept_generation;
  start();
}

int ControlServer::native_handle() const { return state_->acceptor.native_handle(); }

void ControlServer::stop() {
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
}

tcp::endpoint ControlServer::local_endpoint() const { return state_->acceptor.local_endpoint(); }

}  // namespace canaryd::proxy
