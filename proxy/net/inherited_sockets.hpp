// Listening sockets canaryd did not open itself: those its predecessor handed over on a hot upgrade
// (SIGUSR2) and those systemd passed by socket activation (LISTEN_FDS). Reading them from the
// environment, matching them to the config's addresses and sharing them among the workers.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "config/result.hpp"

namespace canaryd::proxy {

/// The hot upgrade's environment: "fd:role:index,..." (role `listen` with the listen entry's index, or
/// `control` with 0) and the descriptor of the pipe the successor writes "ready" to.
inline constexpr const char* kInheritedFdsEnv = "CANARYD_INHERITED_FDS";
inline constexpr const char* kReadyFdEnv = "CANARYD_UPGRADE_READY_FD";

/// One listening socket as the predecessor describes it.
struct HandedSocket {
  int fd = -1;
  std::string role;  ///< "listen" or "control"
  std::size_t index = 0;
};
std::string encode_handed_sockets(const std::vector<HandedSocket>& sockets);
Result<std::vector<HandedSocket>> parse_handed_sockets(std::string_view text);

struct InheritedSocket {
  int fd = -1;
  boost::asio::ip::tcp::endpoint local;  ///< from getsockname
  std::string role;                      ///< as the predecessor said; empty from systemd
  std::size_t index = 0;
};

struct Inheritance {
  std::vector<InheritedSocket> sockets;
  std::string source;  ///< "the previous canaryd" or "systemd (LISTEN_FDS)"; empty when nothing was passed
  bool upgrade = false;
  int ready_fd = -1;  ///< hot upgrade: write "ready" here once serving
};

/// The local address of socket `fd` (getsockname); the default endpoint when it has none.
boost::asio::ip::tcp::endpoint socket_local_endpoint(int fd);

/// Takes what the environment passes and unsets its variables, so that no child of ours sees them;
/// the sockets become close-on-exec. Fails when a passed descriptor is not a listening TCP socket.
Result<Inheritance> take_inherited_sockets();

/// Which inherited sockets serve which address: by getsockname, or for a configured port 0 by the
/// predecessor's role and index.
struct SocketPlan {
  std::vector<std::vector<int>> listen;  ///< by listen entry
  int control = -1;
  std::vector<const InheritedSocket*> unmatched;  ///< neither a listen entry nor control
};
SocketPlan match_inherited(const std::vector<InheritedSocket>& sockets,
                           const std::vector<boost::asio::ip::tcp::endpoint>& listen,
                           const boost::asio::ip::tcp::endpoint& control);

/// Which of `sockets` sockets of one address each of `workers` workers accepts on: every socket is
/// someone's (a socket nobody accepts on would keep the connections the kernel gives it), and every
/// worker has one (the same socket again, duplicated, when there are fewer sockets than workers).
std::vector<std::vector<std::size_t>> share_sockets(std::size_t sockets, std::size_t workers);

}  // namespace canaryd::proxy
