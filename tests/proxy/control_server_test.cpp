// ControlServer's interface for the Server, the hot upgrade and systemd: an asynchronous handler,
// pause()/resume() and a handed-over acceptor, over real loopback sockets.
#include "proxy/control/control_server.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/steady_timer.hpp>

namespace canaryd::proxy {
namespace {
namespace asio = boost::asio;
using asio::ip::tcp;

/// A ControlServer on 127.0.0.1:0 whose io_context runs on its own thread.
class ServerThread {
 public:
  using MakeAcceptor = std::function<tcp::acceptor(asio::io_context&)>;

  /// Listening on 127.0.0.1:0.
  explicit ServerThread(ControlServer::Handler handler)
      : ServerThread(
            [](asio::io_context& io) { return tcp::acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)); },
            std::move(handler)) {}
  /// Serving the acceptor `make` returns.
  ServerThread(const MakeAcceptor& make, ControlServer::Handler handler)
      : server_(std::make_unique<ControlServer>(io_, make(io_), std::move(handler))),
        port_(server_->local_endpoint().port()) {
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~ServerThread() {
    on_io([this] { server_.reset(); });
    work_.reset();
    io_.stop();
    thread_.join();
  }

  /// Runs `f` on the server's thread and waits for it.
  template <typename F>
  void on_io(F f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  ControlServer& server() { return *server_; }
  unsigned short port() const { return port_; }
  asio::io_context& io() { return io_; }

 private:
  asio::io_context io_;
  // A paused server waits for nothing; the thread must still run what the test posts.
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::unique_ptr<ControlServer> server_;
  unsigned short port_;
  std::thread thread_;
};

/// A blocking client whose reads give up after `timeout_ms`. An interrupted read is read again: under
/// io_uring (CANARYD_IO_URING) the kernel completes the requests this thread submitted (ServerThread starts
/// the server here) by interrupting it, and a receive timeout turns that into EINTR.
class Client {
 public:
  Client(unsigned short port, int timeout_ms = 5000) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  void send(const std::string& request) { asio::write(socket_, asio::buffer(request)); }
  /// What arrived until the peer closed or the read timed out; `closed` says which.
  std::string read_until_close(bool& closed) {
    std::string out;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(socket_.native_handle(), buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        closed = n == 0 || errno == ECONNRESET;
        return out;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  /// One response, read until its Content-Length is complete.
  std::string read_response() {
    std::string out;
    char buf[4096];
    for (;;) {
      const auto end = out.find("\r\n\r\n");
      if (end != std::string::npos) {
        const auto at = out.find("Content-Length: ");
        const std::size_t length = at == std::string::npos ? 0 : std::stoul(out.substr(at + 16));
        if (out.size() >= end + 4 + length) return out;
      }
      const ssize_t n = ::recv(socket_.native_handle(), buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return out;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
};

ControlReply ok(std::string body) {
  ControlReply r;
  r.body = std::move(body);
  return r;
}

constexpr const char* kGet = "GET /x HTTP/1.1\r\nHost: t\r\n\r\n";

TEST(ControlServerTest, TheHandlerMayAnswerLater) {
  std::unique_ptr<asio::steady_timer> timer;
  ServerThread s([&](ControlRequest req, std::function<void(ControlReply)> done) {
    // Answered from a timer, after the handler has returned (as after a Kubernetes write).
    timer = std::make_unique<asio::steady_timer>(s.io(), std::chrono::milliseconds(20));
    timer->async_wait([done, target = req.target](boost::system::error_code) { done(ok("late " + target)); });
  });
  Client c(s.port());
  c.send(kGet);
  const std::string r = c.read_response();
  EXPECT_EQ(r.substr(0, 15), "HTTP/1.1 200 OK") << r;
  EXPECT_EQ(r.substr(r.size() - 7), "late /x") << r;
  s.on_io([&] { timer.reset(); });
}

TEST(ControlServerTest, PauseClosesIdleConnectionsAndLetsNewOnesWaitUntilResume) {
  ServerThread s([](ControlRequest, std::function<void(ControlReply)> done) { done(ok("ok")); });
  Client idle(s.port());
  idle.send(kGet);
  EXPECT_NE(idle.read_response().find("\r\n\r\nok"), std::string::npos);
  s.on_io([&] { s.server().pause(); });
  bool closed = false;
  idle.read_until_close(closed);
  EXPECT_TRUE(closed) << "an idle connection stays open across pause()";

  // The listening socket stays open: a new connection waits in its backlog, unanswered.
  Client waiting(s.port(), 300);
  waiting.send(kGet);
  closed = true;
  EXPECT_EQ(waiting.read_until_close(closed), "");
  EXPECT_FALSE(closed);
  s.on_io([&] { s.server().resume(); });
  EXPECT_NE(waiting.read_response().find("\r\n\r\nok"), std::string::npos);
}

TEST(ControlServerTest, ARequestUnderWayWhenPausedIsAnsweredThenClosed) {
  std::promise<void> called;
  std::function<void(ControlReply)> pending;
  ServerThread s([&](ControlRequest, std::function<void(ControlReply)> done) {
    pending = std::move(done);
    called.set_value();
  });
  Client c(s.port());
  c.send(kGet);
  called.get_future().wait();
  s.on_io([&] {
    s.server().pause();
    pending(ok("finished"));
    pending = nullptr;  // it holds a timer of the server's io_context, which goes first
  });
  bool closed = false;
  const std::string r = c.read_until_close(closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(r.find("\r\nConnection: close\r\n"), std::string::npos) << r;
  EXPECT_NE(r.find("\r\n\r\nfinished"), std::string::npos) << r;
}

TEST(ControlServerTest, ServesAnAcceptorItIsHandedAndExposesItsDescriptor) {
  // A listening descriptor made elsewhere (a predecessor's, or systemd's), adopted by number.
  asio::io_context elsewhere;
  tcp::acceptor original(elsewhere, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  const auto port = original.local_endpoint().port();
  const int fd = original.release();
  ServerThread s([fd](asio::io_context& io) { return tcp::acceptor(io, tcp::v4(), fd); },
                 [](ControlRequest, std::function<void(ControlReply)> done) { done(ok("adopted")); });
  EXPECT_EQ(s.port(), port);
  int native = -1;
  s.on_io([&] { native = s.server().native_handle(); });
  EXPECT_EQ(native, fd);
  Client c(port);
  c.send(kGet);
  EXPECT_NE(c.read_response().find("\r\n\r\nadopted"), std::string::npos);
}

}  // namespace
}  // namespace canaryd::proxy
