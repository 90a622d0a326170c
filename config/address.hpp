// Addresses as the config writes them ("host:port", "[v6]:port"): their parsing, and whether a host is
// loopback-only (which decides whether the control API may run without a token).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/result.hpp"

namespace canaryd::config {

/// "host:port" or "[v6]:port". The host is kept as written (an IP literal or a name).
struct HostPort {
  std::string host;  ///< without brackets
  std::uint16_t port = 0;

  /// As written in config and printed in outputs: `127.0.0.1:80`, `[::1]:80`.
  std::string to_string() const;
  bool operator==(const HostPort&) const = default;
};

/// Parses "host:port" / "[v6]:port". `allow_port_zero` is for listeners (ephemeral port in tests).
Result<HostPort> parse_host_port(std::string_view text, bool allow_port_zero);

/// True for a host only this machine reaches: 127.0.0.0/8, ::1, ::ffff:127.x.y.z and "localhost".
/// Any other name counts as reachable from elsewhere (it is not resolved here).
bool is_loopback_host(std::string_view host);

}  // namespace canaryd::config
