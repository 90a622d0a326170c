// accept4 into an Asio socket that Asio knows to be non-blocking and not a dup (see accepted_socket.hpp).
#include "proxy/net/accepted_socket.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <unistd.h>

#include <cerrno>

namespace canaryd::proxy {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// Asio keeps a socket's mode bits in its implementation, which only a derived class may reach. The bits
// are Asio's (socket_ops.hpp); Boost 1.81's reactive service, which canaryd builds with, keeps them in
// state_.
struct SocketState : tcp::socket {
  static asio::detail::socket_ops::state_type& of(tcp::socket& s) {
    return (s.*&SocketState::impl_).get_implementation().state_;
  }
};

}  // namespace

void accept_own(tcp::acceptor& acceptor, tcp::socket& socket, tcp::endpoint& peer, boost::system::error_code& ec) {
  tcp::endpoint::data_type* address = peer.data();
  socklen_t length = static_cast<socklen_t>(peer.capacity());
  int fd;
  do {
    fd = ::accept4(acceptor.native_handle(), address, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    ec = boost::system::error_code(errno == EWOULDBLOCK ? EAGAIN : errno, asio::error::get_system_category());
    return;
  }
  peer.resize(length);
  socket.assign(peer.protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    return;
  }
  namespace ops = asio::detail::socket_ops;
  auto& state = SocketState::of(socket);
  // accept4 made it non-blocking, as non_blocking(true) would have (write_all writes directly), and no
  // other descriptor shares its file: the kernel takes it out of epoll when it is closed.
  state = static_cast<ops::state_type>((state | ops::user_set_non_blocking | ops::internal_non_blocking) &
                                       ~ops::possible_dup);
}

void set_listener_options(tcp::acceptor& acceptor) {
  acceptor.set_option(tcp::no_delay(true));
}

}  // namespace canaryd::proxy
