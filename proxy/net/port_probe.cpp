// The bind test behind probe_listen_address (see port_probe.hpp).
#include "proxy/net/port_probe.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace canaryd::proxy {

Result<void> probe_listen_address(const boost::asio::ip::tcp::endpoint& address) {
  if (address.port() == 0) return {};
  const bool v6 = address.address().is_v6();
  const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(std::string("cannot open a socket: ") + std::strerror(errno));
  // The same options as a worker's listener except SO_REUSEPORT: with SO_REUSEADDR a port whose old
  // connections linger in TIME_WAIT is free, and without SO_REUSEPORT the bind fails while anyone
  // listens there, on this address or on a wildcard that covers it.
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (v6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  Result<void> problem;
  if (::bind(fd, address.data(), static_cast<socklen_t>(address.size())) != 0) {
    problem = fail(errno == EADDRINUSE ? std::string("in use by another process")
                                       : std::string("cannot bind: ") + std::strerror(errno));
  }
  ::close(fd);
  return problem;
}

}  // namespace canaryd::proxy
