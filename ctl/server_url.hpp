// Where canaryctl sends its calls: the control API's URL (-s, CANARYD_URL, or the default), parsed and
// checked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/result.hpp"

namespace canaryd::ctl {

/// Where canaryd's control API listens, split for the resolver and the request line.
struct ServerUrl {
  std::string text;         ///< as given, for messages
  std::string host;         ///< for the resolver: a name or an address, IPv6 without brackets
  std::uint16_t port = 80;
  std::string host_header;  ///< the Host header: host[:port], IPv6 in brackets
  std::string base_path;    ///< "" or a prefix such as "/canaryd", without a trailing slash
};

/// The default when neither -s nor CANARYD_URL is given.
inline constexpr std::string_view kDefaultServerUrl = "http://127.0.0.1:9901";

/// Parses an http:// URL; `host:port` alone means http://host:port. https is refused for now (TLS comes
/// later), as are credentials, queries and fragments. On failure the error says why.
Result<ServerUrl> parse_server_url(std::string_view text);

}  // namespace canaryd::ctl
