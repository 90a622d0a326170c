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
  /// Decides the reply and passes it to the second argument, at once or later (a change waits for its
  /// durable write); the connection waits for it without holding up the thread.
  using Handler = std::function<void(ControlRequest, std::function<void(ControlReply)>)>;

  /// Binds and listens (throws boost::system::system_error, e.g. when the port is in use).
  ControlServer(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& address, Handler handler);
  ~ControlServer();

  void start();
  /// Stops accepting; open connections finish their current request.
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  static constexpr std::size_t kMaxBodyBytes = 64 * 1024;
  static constexpr int kMaxConnections = 64;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace canaryd::proxy
