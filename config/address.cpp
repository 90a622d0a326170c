// Parsing and classifying "host:port" addresses (see address.hpp): literal and name spelling checks, port
// ranges, and what counts as loopback.
#include "config/address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <string>

namespace canaryd::config {
namespace {

constexpr std::size_t kMaxHostLength = 253;

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool is_ipv6_literal(const std::string& host) {
  in6_addr addr{};
  return inet_pton(AF_INET6, host.c_str(), &addr) == 1;
}

bool is_ipv4_literal(const std::string& host) {
  in_addr addr{};
  return inet_pton(AF_INET, host.c_str(), &addr) == 1;
}

// A DNS name or an IPv4 literal. Names are resolved later; here only their spelling is checked, so a
// typo such as "127.0.0.1.:80" or "local host:80" is reported at load time.
Result<void> check_host(const std::string& host) {
  if (host.size() > kMaxHostLength) return fail("the host name is longer than 253 characters");
  bool all_numeric = true;
  for (char c : host) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '.' && c != '_') {
      return fail(std::string("invalid character '") + c + "' in the host");
    }
    if (!(c >= '0' && c <= '9') && c != '.') all_numeric = false;
  }
  if (all_numeric && !is_ipv4_literal(host)) return fail("invalid IPv4 address " + quoted(host));
  if (host.front() == '.' || host.back() == '.' || host.find("..") != std::string::npos) {
    return fail("invalid host name " + quoted(host));
  }
  return {};
}

}  // namespace

std::string HostPort::to_string() const {
  const std::string p = std::to_string(port);
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + p;
  return host + ":" + p;
}

Result<HostPort> parse_host_port(std::string_view text, bool allow_port_zero) {
  const auto invalid = [&](const std::string& why) { return fail("invalid address " + quoted(text) + ": " + why); };

  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return invalid("missing ']' after the IPv6 address");
    out.host = std::string(text.substr(1, close - 1));
    if (out.host.empty()) return invalid("empty host between '[' and ']'");
    if (!is_ipv6_literal(out.host)) return invalid("invalid IPv6 address " + quoted(out.host));
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return invalid("expected ':port' after ']' (use [v6]:port)");
    port_text = rest.substr(1);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return invalid("expected host:port (IPv6 as [::1]:port)");
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (out.host.empty()) return invalid("empty host (use 0.0.0.0:port to listen on every address)");
    if (out.host.find(':') != std::string::npos) {
      return invalid("an IPv6 address must be in brackets, e.g. [::1]:8080");
    }
    if (auto host = check_host(out.host); !host) return invalid(host.error().message);
  }

  if (port_text.empty()) return invalid("missing port after ':'");
  unsigned long port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') return invalid("the port must be a number, got " + quoted(port_text));
  }
  for (char c : port_text) {
    // Saturate instead of overflowing on absurdly long digit strings; the range check reports it.
    port = std::min(port * 10 + static_cast<unsigned long>(c - '0'), 65536UL);
  }
  const unsigned long min_port = allow_port_zero ? 0 : 1;
  if (port < min_port || port > 65535) {
    return invalid("port " + std::string(port_text) + " is out of range (" + std::to_string(min_port) + " to 65535)");
  }
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

}  // namespace canaryd::config

namespace canaryd::config {

bool is_loopback_host(std::string_view host) {
  const std::string h(host);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  std::string lower = h;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower == "localhost";
}

}  // namespace canaryd::config
