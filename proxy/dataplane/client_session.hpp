// One client connection of a worker: its reads of request heads, its timeouts and its close; each
// request on it is an Exchange (exchange.hpp).
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/intrusive/list_hook.hpp>

#include "proxy/dataplane/exchange.hpp"
#include "proxy/dataplane/override_gate.hpp"
#include "proxy/dataplane/h2_connection.hpp"
#include "proxy/dataplane/parked_connection.hpp"
#include "proxy/dataplane/session_context.hpp"
#include "proxy/net/flex_stream.hpp"
#include "proxy/net/tls_context.hpp"

namespace canaryd::proxy {

/// Hook by which a worker finds its live client sessions when it drains.
using SessionHook = boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

/// One client connection on one worker: reads each request, validates its framing, routes it on the
/// worker's snapshot, relays it through a pooled upstream connection and streams both bodies through
/// fixed buffers. Worker thread only.
class ClientSession : public SessionHook {
 public:
  /// `peer`: the client's address, as accept gave it. `tls`: the listener's TLS context; null for a plain
  /// listener.
  /// `http2`: a plain listener that also takes HTTP/2 with prior knowledge (a TLS one offers it by ALPN).
  ClientSession(SessionContext& context, boost::asio::ip::tcp::socket socket, const boost::asio::ip::tcp::endpoint& peer,
                TlsContextPtr tls, bool http2 = false);
  /// Takes over a parked connection (parked_connection.hpp) that woke: it has served a request, and
  /// the connection is already counted.
  ClientSession(SessionContext& context, ParkedConnection& parked);
  ~ClientSession();

  /// Runs the connection to its end, or until it parks (parked()). The caller keeps the session alive
  /// until this completes.
  boost::asio::awaitable<void> run();
  /// After run(): the connection waits for its next request with nothing buffered; the caller keeps
  /// it parked (take_parked) instead of this session.
  bool parked() const { return parked_; }
  /// Once parked(): the connection's record, with its socket and its count, idle since it began to wait
  /// for its next request (keepalive_idle counts from there). The session is left without a connection.
  std::unique_ptr<ParkedConnection> take_parked();

  /// Worker thread, on drain: closes the connection when it is between requests.
  void close_if_idle();
  /// True when the connection has served a request and nothing of another one has arrived.
  bool between_requests();

 private:
  /// PeerClosed: the client closed or reset its side; Closed: we stopped waiting (idle timeout, drain).
  /// Park: a keep-alive connection's next request has not started for a while, and reading now would block.
  enum class HeadResult { Ready, PeerClosed, Closed, Timeout, TooLarge, Malformed, Park };
  boost::asio::awaitable<HeadResult> read_head(std::size_t& head_size, bool first);
  /// The client's address as text, as the access log and X-Forwarded-For write it (and its IPv4 form).
  void remember_client_ip();
  /// Shrinks a buffer that a large request grew back to what waits for the next request.
  void keep_idle_buffer();
  /// The client's side for the next exchange, under the worker's current snapshot.
  ClientSide client_side();
  /// True when bytes of the client's are buffered here or wait in the kernel (or we cannot tell).
  bool input_pending();
  boost::asio::awaitable<bool> handshake();
  /// The client chose h2 by ALPN, or sent the HTTP/2 preface on a listener with http2: true.
  bool alpn_h2();
  bool prior_knowledge();
  /// Serves the connection as HTTP/2 (h2_connection.hpp) to its end.
  boost::asio::awaitable<void> run_h2();
  /// `linger`: read (and drop) what the client still sends for a while before closing.
  boost::asio::awaitable<void> close_gracefully(bool linger);
  void arm_header_timer(std::chrono::steady_clock::time_point deadline);
  /// Disarms the header timer if it is armed.
  void disarm_header_timer();

  SessionContext& ctx_;
  ConnectionCount count_;  ///< destroyed after client_ (the connection is counted out once closed)
  TlsContextPtr tls_context_;  // before client_: the TLS stream uses it until it is destroyed
  FlexStream client_;
  boost::beast::flat_buffer client_buffer_;
  std::string client_ip_;
  std::string client_key_ip_;  ///< ClientSide::key_ip when it differs from client_ip_ (IPv4-mapped)
  boost::asio::ip::tcp::endpoint peer_;  ///< as accept gave it (kept when the connection parks)
  boost::asio::ip::address peer_address_;  ///< IPv4-mapped IPv6 as IPv4
  OverrideGate override_gate_;  ///< after peer_address_, which it is built from
  boost::asio::steady_timer header_timer_;
  std::uint64_t header_timer_generation_ = 0;
  std::chrono::steady_clock::time_point idle_since_;
  std::chrono::steady_clock::time_point accepted_;  ///< the first request's client_header counts from here
  bool header_timed_out_ = false;
  bool header_timer_armed_ = false;
  bool idle_ = true;
  bool served_one_ = false;
  bool parked_ = false;
  bool idle_timed_out_ = false;  ///< woke from parking because keepalive_idle passed: close at once
  const bool http2_;
  H2Connection* h2_ = nullptr;  ///< while the connection speaks HTTP/2
};

}  // namespace canaryd::proxy
