#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace canaryd::proxy {

/// What the control endpoint answers to one request.
struct ControlRequest {
  std::string method;
  std::string target;
  std::string body;
  std::string authorization;
};
struct ControlReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string allow;  ///< the Allow header of a 405
};

/// The control port: a small HTTP/1.1 server on the main thread's io_context. It only parses and
/// writes; `handler` decides. Bodies over 64 KiB get 413, connections beyond kMaxConnections are closed
/// at once, and every read and write has a deadline.
class ControlServer {
 public:
  using Handler = std::function<ControlReply(const ControlRequest&)>;

  /// Binds and listens (throws boost::system::system_error, e.g. when the port is in use).
  ControlServer(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& address, Handler handler);
  /// Serves an acceptor that already listens (handed over by the previous canaryd, or by systemd).
  ControlServer(boost::asio::io_context& io, boost::asio::ip::tcp::acceptor listening, Handler handler);
  ~ControlServer();

  void start();
  /// Stops accepting; open connections finish their current request.
  void stop();
  /// Stops accepting without closing the socket (connections wait in its queue, for whoever accepts
  /// next: this process after resume(), or its successor) and closes idle connections. Until resume(),
  /// requests still arriving on open connections get 503 when they would change something, and every
  /// answer closes its connection.
  void pause();
  void resume();
  int native_handle() const;
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  static constexpr std::size_t kMaxBodyBytes = 64 * 1024;
  static constexpr int kMaxConnections = 64;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace canaryd::proxy
