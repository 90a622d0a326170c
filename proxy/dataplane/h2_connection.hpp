// One HTTP/2 client connection (ALPN h2, or prior knowledge on a listener with http2: true): libnghttp2's
// server session over the client stream, its reader and writer, the connection's timeouts and drain.
// Each stream is a request of its own (h2_stream.hpp).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nghttp2/nghttp2.h>

#include "proxy/dataplane/exchange.hpp"
#include "proxy/dataplane/override_gate.hpp"
#include "proxy/dataplane/session_context.hpp"
#include "proxy/dataplane/wake_signal.hpp"

namespace canaryd::proxy {

class H2Stream;

/// The client preface of HTTP/2 with prior knowledge (RFC 9113 3.4), as far as an HTTP/1.1 head reader
/// sees it: a request line and an empty line.
inline constexpr std::string_view kH2PrefaceHead = "PRI * HTTP/2.0\r\n\r\n";

/// The receive window of each stream and of the connection: what a client may send before we have
/// written it upstream. With the response buffers of the streams in flight, this bounds what one
/// connection holds: at most kConnectionWindow of request bodies, plus one RequestScratch (about
/// 100 KiB) per stream in flight, limits.h2_max_concurrent_streams of them.
inline constexpr std::int32_t kH2StreamWindow = 256 * 1024;
inline constexpr std::int32_t kH2ConnectionWindow = 1024 * 1024;

/// One HTTP/2 connection on one worker. Worker thread only.
class H2Connection {
 public:
  /// `client`: the connection's stream and the bytes already read of it (the preface, when prior
  /// knowledge was detected). `accepted`: the preface and first request are due within client_header.
  /// `overrides`: the session's judgement of the peer's overrides, asked again per stream under its snapshot.
  H2Connection(SessionContext& ctx, ClientSide client, OverrideGate& overrides,
               std::chrono::steady_clock::time_point accepted);
  ~H2Connection();
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  /// Runs the connection until it ends; every stream has ended when this returns.
  boost::asio::awaitable<void> run();
  /// Worker thread, on drain: GOAWAY (a shutdown notice, then the final one); open streams finish.
  void drain();

  // For the streams.
  SessionContext& ctx() { return ctx_; }
  const ClientSide& client() const { return client_; }
  /// Whether the peer's overrides count under `snap` (a reload applies to open connections).
  bool overrides_allowed(const RoutingSnapshot& snap) { return overrides_.allowed(snap); }
  nghttp2_session* session() { return session_; }
  /// Frames may be ready to go out (a response, a window update, resumed data).
  void want_write() { write_signal_.notify(); }
  /// A stream's coroutine ended.
  void coroutine_ended();
  bool stopping() const { return stopping_; }

 private:
  bool start_session();
  /// Feeds received bytes to the session; false when the connection must end.
  bool feed(const char* data, std::size_t size);
  boost::asio::awaitable<void> write_loop();
  /// The session has nothing more to read or write: the connection is over.
  bool finished() const;
  /// Arms the connection's deadline as its state asks: client_header until the first request,
  /// keepalive_idle while no stream is open, none otherwise.
  void update_deadline();
  void arm_deadline(std::chrono::steady_clock::time_point at);
  void on_deadline();
  void send_final_goaway();

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                       const std::uint8_t* value, std::size_t valuelen, std::uint8_t flags, void* self);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_data_chunk(nghttp2_session*, std::uint8_t flags, std::int32_t stream_id, const std::uint8_t* data,
                           std::size_t len, void* self);
  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code, void* self);
  H2Stream* find(std::int32_t stream_id);
  /// Counts a SETTINGS or PING frame; true when they come faster than a client needs (a flood).
  bool control_flood();

  SessionContext& ctx_;
  ClientSide client_;
  OverrideGate& overrides_;
  const std::chrono::steady_clock::time_point accepted_;
  nghttp2_session* session_ = nullptr;
  /// The streams nghttp2 has open, by id; a stream's coroutine holds its own reference.
  std::unordered_map<std::int32_t, std::shared_ptr<H2Stream>> streams_;
  WakeSignal write_signal_;
  WakeSignal ended_signal_;
  boost::asio::steady_timer deadline_;
  boost::asio::steady_timer drain_timer_;
  std::uint64_t deadline_generation_ = 0;
  std::size_t coroutines_ = 0;  ///< stream coroutines running (they use this connection)
  bool writer_running_ = false;
  bool stopping_ = false;
  bool first_request_seen_ = false;
  bool idle_armed_ = false;
  bool draining_ = false;
  std::chrono::steady_clock::time_point control_window_{};
  unsigned control_frames_ = 0;
  std::string out_;
  std::array<char, 16 * 1024> in_;
};

}  // namespace canaryd::proxy
