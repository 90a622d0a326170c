// Blocking name resolution for config addresses and the printing of endpoints (see resolve.hpp).
#include "proxy/net/resolve.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

namespace canaryd::proxy {
namespace asio = boost::asio;
using asio::ip::tcp;

Result<tcp::endpoint> resolve_host_port(const config::HostPort& hp, bool* by_name) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(hp.host, ec);
  if (!ec) return tcp::endpoint(addr, hp.port);
  if (by_name) *by_name = true;
  asio::io_context io;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(hp.host, std::to_string(hp.port), ec);
  if (ec || results.empty()) {
    return fail("cannot resolve " + hp.host + ": " + (ec ? ec.message() : std::string("no address")));
  }
  return results.begin()->endpoint();
}

std::string endpoint_text(const boost::asio::ip::tcp::endpoint& ep) {
  const auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

}  // namespace canaryd::proxy
