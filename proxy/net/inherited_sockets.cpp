// Reading and matching inherited listening sockets (see inherited_sockets.hpp): the hot-upgrade and
// systemd environments, address matching and the split among workers.
#include "proxy/net/inherited_sockets.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace canaryd::proxy {
using boost::asio::ip::tcp;

namespace {

constexpr int kSystemdFirstFd = 3;  // SD_LISTEN_FDS_START

template <typename T>
bool parse_number(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// The socket's local address when it is a listening TCP socket.
Result<tcp::endpoint> listening_tcp(int fd) {
  const std::string which = "descriptor " + std::to_string(fd);
  int type = 0, listening = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
    return fail(which + ": not a socket (" + std::strerror(errno) + ")");
  len = sizeof listening;
  ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len);
  const tcp::endpoint ep = socket_local_endpoint(fd);
  if (type != SOCK_STREAM || !listening || ep.port() == 0) return fail(which + ": not a listening TCP socket");
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return ep;
}

Result<void> take_upgrade(Inheritance& out) {
  const char* fds = std::getenv(kInheritedFdsEnv);
  const char* ready = std::getenv(kReadyFdEnv);
  if (!fds) return {};
  const std::string text = fds, ready_text = ready ? ready : "";
  ::unsetenv(kInheritedFdsEnv);
  ::unsetenv(kReadyFdEnv);
  auto handed = parse_handed_sockets(text);
  if (!handed) return fail(std::move(handed).error());
  out.source = "the previous canaryd";
  out.upgrade = true;
  if (!ready_text.empty() && !parse_number(ready_text, out.ready_fd))
    return fail(std::string(kReadyFdEnv) + ": not a descriptor: " + ready_text);
  if (out.ready_fd >= 0) ::fcntl(out.ready_fd, F_SETFD, FD_CLOEXEC);
  for (const auto& h : *handed) {
    auto local = listening_tcp(h.fd);
    if (!local) return fail(std::move(local).error());
    out.sockets.push_back({h.fd, *local, h.role, h.index});
  }
  return {};
}

Result<void> take_systemd(Inheritance& out) {
  const char* fds = std::getenv("LISTEN_FDS");
  const char* pid = std::getenv("LISTEN_PID");
  const std::string fds_text = fds ? fds : "", pid_text = pid ? pid : "";
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDNAMES");
  long for_pid = 0;
  int count = 0;
  // Meant for another process (the variables leaked through a wrapper that did not exec us): not ours.
  if (!fds || !parse_number(pid_text, for_pid) || for_pid != ::getpid()) return {};
  if (!parse_number(fds_text, count) || count < 0) return fail("LISTEN_FDS: not a count: " + fds_text);
  if (count > 0 && out.source.empty()) out.source = "systemd (LISTEN_FDS)";
  for (int fd = kSystemdFirstFd; fd < kSystemdFirstFd + count; ++fd) {
    auto local = listening_tcp(fd);
    if (!local) return fail("LISTEN_FDS: " + local.error().message);
    out.sockets.push_back({fd, *local, "", 0});
  }
  return {};
}

}  // namespace

tcp::endpoint socket_local_endpoint(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  tcp::endpoint ep;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return ep;
  if ((addr.ss_family != AF_INET && addr.ss_family != AF_INET6) || len > ep.capacity()) return ep;
  std::memcpy(ep.data(), &addr, len);
  ep.resize(len);
  return ep;
}

std::string encode_handed_sockets(const std::vector<HandedSocket>& sockets) {
  std::string out;
  for (const auto& s : sockets) {
    if (!out.empty()) out += ',';
    out += std::to_string(s.fd) + ":" + s.role + ":" + std::to_string(s.index);
  }
  return out;
}

Result<std::vector<HandedSocket>> parse_handed_sockets(std::string_view text) {
  std::vector<HandedSocket> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const auto c1 = item.find(':');
    const auto c2 = c1 == std::string_view::npos ? c1 : item.find(':', c1 + 1);
    HandedSocket s;
    if (c2 == std::string_view::npos || !parse_number(item.substr(0, c1), s.fd) || s.fd < 0 ||
        !parse_number(item.substr(c2 + 1), s.index))
      return fail(std::string(kInheritedFdsEnv) + ": not fd:role:index: " + std::string(item));
    s.role = std::string(item.substr(c1 + 1, c2 - c1 - 1));
    if (s.role != "listen" && s.role != "control")
      return fail(std::string(kInheritedFdsEnv) + ": unknown role: " + std::string(item));
    out.push_back(std::move(s));
  }
  return out;
}

Result<Inheritance> take_inherited_sockets() {
  Inheritance out;
  if (auto upgrade = take_upgrade(out); !upgrade) return fail(std::move(upgrade).error());
  if (auto systemd = take_systemd(out); !systemd) return fail(std::move(systemd).error());
  return out;
}

SocketPlan match_inherited(const std::vector<InheritedSocket>& sockets, const std::vector<tcp::endpoint>& listen,
                           const tcp::endpoint& control) {
  auto matches = [](const InheritedSocket& s, const tcp::endpoint& want, std::string_view role, std::size_t index) {
    if (want.port() != 0) return s.local == want;
    return s.local.address() == want.address() && s.role == role && s.index == index;
  };
  SocketPlan plan;
  plan.listen.resize(listen.size());
  for (const auto& s : sockets) {
    bool taken = false;
    for (std::size_t i = 0; i < listen.size() && !taken; ++i) {
      if (!matches(s, listen[i], "listen", i)) continue;
      plan.listen[i].push_back(s.fd);
      taken = true;
    }
    if (!taken && plan.control < 0 && matches(s, control, "control", 0)) {
      plan.control = s.fd;
      taken = true;
    }
    if (!taken) plan.unmatched.push_back(&s);
  }
  return plan;
}

std::vector<std::vector<std::size_t>> share_sockets(std::size_t sockets, std::size_t workers) {
  std::vector<std::vector<std::size_t>> out(workers);
  if (sockets == 0) return out;
  for (std::size_t s = 0; s < sockets; ++s) out[s % workers].push_back(s);
  for (std::size_t w = sockets; w < workers; ++w) out[w].push_back(w % sockets);
  return out;
}

}  // namespace canaryd::proxy
