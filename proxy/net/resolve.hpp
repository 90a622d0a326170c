// From a config address to a TCP endpoint (IP literal, or a name through the system resolver at start or
// reload) and back to the config's text form.
#pragma once

#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "config/address.hpp"
#include "config/result.hpp"

namespace canaryd::proxy {

/// An IP literal as is, a host name through the system resolver (blocking: main thread, at start-up or
/// reload only). Fails with `cannot resolve <host>: <why>` when it does not resolve. `by_name`, when
/// given, is set to true when `hp.host` is a name rather than a literal (whether or not it resolved).
Result<boost::asio::ip::tcp::endpoint> resolve_host_port(const config::HostPort& hp, bool* by_name = nullptr);

/// `127.0.0.1:8080`, `[::1]:8080`: an address as the config writes it.
std::string endpoint_text(const boost::asio::ip::tcp::endpoint& ep);

}  // namespace canaryd::proxy
