// Whether a client connection's override header and cookie count (routing.override_sources): judged by
// the TCP peer's address once per connection and snapshot, so a reload applies to open connections
// (HTTP/1.1 keep-alive and HTTP/2 alike) without a CIDR match per request.
#pragma once

#include <cstdint>

#include <boost/asio/ip/address.hpp>

#include "proxy/dataplane/routing_snapshot.hpp"

namespace canaryd::proxy {

class OverrideGate {
 public:
  /// `peer`: the client's address, an IPv4-mapped IPv6 address already as IPv4.
  explicit OverrideGate(const boost::asio::ip::address& peer) : peer_(peer) {}

  bool allowed(const RoutingSnapshot& snap) {
    if (snap.serial != serial_) {
      allowed_ = snap.override_allowed(peer_);
      serial_ = snap.serial;
    }
    return allowed_;
  }

 private:
  boost::asio::ip::address peer_;
  bool allowed_ = true;
  std::uint64_t serial_ = 0;
};

}  // namespace canaryd::proxy
