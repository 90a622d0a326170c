// The control port's HTTP/1.1 server: accepts, reads requests with the data plane's strict head
// validator, bounds what any client can hold, and hands each request to the Server's handler.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace canaryd::proxy {

/// One request to the control port, as the handler sees it. A HEAD request arrives as GET: the server
/// sends the GET answer's status and headers without its body.
struct ControlRequest {
  std::string method;
  std::string target;
  std::string body;
  std::string authorization;
  std::string remote;  ///< the peer's address ("127.0.0.1", "::1"), for the audit log
};

/// The handler's answer.
struct ControlReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string allow;  ///< the Allow header of a 405 (HEAD is added wherever GET is listed)
  /// More header fields, e.g. the WWW-Authenticate of a 401. Names and values must be valid field text.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// The control port: a small HTTP/1.1 server on the main thread's io_context. It only parses and
/// writes; the handler decides. Nobody can lock it: a source address holds at most
/// kMaxConnectionsPerSource connections and the port kMaxConnections, and a new connection beyond
/// either bound evicts the longest-idle one (ControlConnections) instead of being refused; a
/// connection that sends nothing for kIdleTimeout, or whose head is not complete kHeadTimeout after
/// its first byte, is closed. Heads are checked by check_request_head, as on the data plane; a body
/// needs Content-Length (chunked gets 411) and at most kMaxBodyBytes (413).
class ControlServer {
 public:
  /// Called on the io_context's thread with the request and a completion, which must be called once,
  /// on that thread, with the reply: at once or later (after a Kubernetes write, say). The connection
  /// waits kHandlerTimeout for it, then answers 503. The completion must not outlive the io_context.
  using Handler = std::function<void(ControlRequest, std::function<void(ControlReply)>)>;

  /// Serves an already bound and listening acceptor (one handed over by a predecessor or by systemd).
  ControlServer(boost::asio::io_context& io, boost::asio::ip::tcp::acceptor listening, Handler handler);
  /// Binds `address` and listens (throws boost::system::system_error, e.g. when the port is in use).
  ControlServer(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& address, Handler handler);
  ~ControlServer();

  /// Starts accepting.
  void start();
  /// Closes the listening socket and every idle connection; requests under way finish first.
  void stop();
  /// Stops accepting without closing the listening socket (new connections wait in its backlog) and
  /// closes every idle connection; a request under way finishes, then its connection is closed.
  void pause();
  /// Accepts again after pause().
  void resume();
  /// The listening descriptor (to hand over to a successor).
  int native_handle() const;
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  static constexpr std::size_t kMaxHeadBytes = 16 * 1024;
  static constexpr std::size_t kMaxBodyBytes = 64 * 1024;
  static constexpr std::size_t kMaxConnectionsPerSource = 32;
  static constexpr std::size_t kMaxConnections = 256;
  static constexpr std::chrono::seconds kIdleTimeout{5};
  static constexpr std::chrono::seconds kHeadTimeout{10};
  static constexpr std::chrono::seconds kHandlerTimeout{60};

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace canaryd::proxy
