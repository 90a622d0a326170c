// The WebSocket tunnel: once the upstream has answered a WebSocket handshake with 101, the client and
// upstream connections relay bytes both ways, through the request's own buffers, until both are done.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "proxy/net/flex_stream.hpp"

namespace canaryd::proxy {

/// What went through a tunnel and how it ended.
struct TunnelResult {
  std::uint64_t to_upstream = 0;  ///< bytes relayed from the client to the upstream
  std::uint64_t to_client = 0;    ///< bytes relayed from the upstream to the client
  bool idle = false;              ///< closed because neither direction moved a byte for `idle`
  bool failed = false;            ///< a read or write failed (a reset, say): both sides were closed at once
};

/// The two connections of a tunnel and the memory it relays through: the request's scratch buffers, one
/// per direction, so a tunnel costs no more memory than a request in flight.
struct TunnelEnds {
  FlexStream& client;
  /// What the client sent after its request head (frames it sent before the 101): relayed first.
  boost::beast::flat_buffer& client_pending;
  FlexStream& upstream;
  /// Emptied (what the upstream sent behind its 101 has gone to the client already); its storage
  /// relays the upstream's bytes.
  boost::beast::flat_buffer& upstream_buffer;
  std::span<char> client_relay;  ///< relays the client's bytes
};

/// Relays both directions until both have ended, one copy per byte (read into the direction's buffer,
/// written from it). The end of one side is passed on: to a plain connection as a half-close
/// (shutdown of its sending side; the other direction goes on), to a TLS connection, which has no
/// half-close TLS 1.2 peers accept (RFC 5246 7.2.1), as the end of the whole tunnel. A TLS side then
/// gets close_notify (answering the peer's, or first), waited on for a couple of seconds at most.
/// A tunnel in which neither direction moved a byte for `idle` is closed: one timer per tunnel, set
/// again only when it fires. A read or write error closes both sides at once. The connections are
/// left open for the caller to close.
boost::asio::awaitable<TunnelResult> run_tunnel(TunnelEnds ends, std::chrono::milliseconds idle);

}  // namespace canaryd::proxy
