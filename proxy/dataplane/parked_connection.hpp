// A plain HTTP/1.1 keep-alive client connection between requests, with nothing of the next one come:
// its socket and the little that must survive, instead of a session, its buffer and coroutine frames.
#pragma once

#include <chrono>
#include <cstdint>

#include <boost/asio/ip/tcp.hpp>
#include <boost/intrusive/list.hpp>

#include "proxy/dataplane/connection_count.hpp"

namespace canaryd::proxy {

struct ParkTag;
/// Hook by which a worker keeps its parked connections in the order they were parked: with one
/// keepalive_idle for all, that is also the order of their idle deadlines (one timer for the head).
using ParkHook = boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>,
                                                  boost::intrusive::tag<ParkTag>>;

/// What a worker keeps of a parked connection while it waits for readability (Worker::park). A new
/// ClientSession takes the socket over when bytes come, when the idle time is up or on drain.
/// It still counts as an open client connection (metrics, limits.max_connections): the session's count
/// moves here with the socket, and on to the session that wakes.
struct ParkedConnection : ParkHook {
  /// Why the readability wait ended early (cancelled); Readable otherwise.
  enum class Wake : std::uint8_t { Readable, IdleTimeout, Drain };

  ParkedConnection(ConnectionCount&& c, boost::asio::ip::tcp::socket&& s, const boost::asio::ip::tcp::endpoint& p,
                   std::chrono::steady_clock::time_point idle_since)
      : count(std::move(c)), socket(std::move(s)), peer(p), parked_at(idle_since) {}
  ParkedConnection(const ParkedConnection&) = delete;
  ParkedConnection& operator=(const ParkedConnection&) = delete;

  ConnectionCount count;  ///< before the socket: the connection is counted out once it is closed
  boost::asio::ip::tcp::socket socket;
  boost::asio::ip::tcp::endpoint peer;  ///< as accept gave it
  std::chrono::steady_clock::time_point parked_at;
  Wake wake = Wake::Readable;
};

using ParkedList = boost::intrusive::list<ParkedConnection, boost::intrusive::base_hook<ParkHook>,
                                          boost::intrusive::constant_time_size<false>>;

}  // namespace canaryd::proxy
