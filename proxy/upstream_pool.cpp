#include "proxy/upstream_pool.hpp"

#include <sys/socket.h>

#include <cerrno>

#include "proxy/worker_metrics.hpp"

namespace canaryd::proxy {

bool UpstreamPool::still_open(FlexStream& s) {
  // An idle keep-alive connection must have nothing to read: EOF means the upstream closed it, and
  // unexpected bytes mean it is out of step. Either way it is not usable. Over TLS the bytes may be
  // a close_notify; a session ticket cannot be, since it arrives before the first response is read.
  char byte;
  ssize_t n = ::recv(s.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void UpstreamPool::close(FlexStream& s) {
  boost::system::error_code ec;
  s.socket().close(ec);
  metrics_.upstream_connections(-1);
}

UpstreamPool::Connection UpstreamPool::take(std::uint32_t endpoint_id, bool resendable) {
  if (endpoint_id >= idle_.size()) return nullptr;
  auto& list = idle_[endpoint_id];
  while (!list.empty()) {
    Idle idle = std::move(list.back());
    list.pop_back();
    const bool trusted = resendable && std::chrono::steady_clock::now() - idle.since < kTrustedIdle;
    if (trusted || still_open(*idle.connection)) return std::move(idle.connection);
    close(*idle.connection);
  }
  return nullptr;
}

void UpstreamPool::give_back(std::uint32_t endpoint_id, Connection connection) {
  if (endpoint_id >= idle_.size()) idle_.resize(endpoint_id + 1);
  auto& list = idle_[endpoint_id];
  if (list.size() >= kMaxIdlePerEndpoint) {
    close(*connection);
    return;
  }
  connection->tcp().expires_never();
  list.push_back(Idle{std::move(connection), std::chrono::steady_clock::now()});
}

void UpstreamPool::sweep(const std::vector<bool>& live_ids) {
  for (std::size_t id = 0; id < idle_.size(); ++id) {
    auto& list = idle_[id];
    bool live = id < live_ids.size() && live_ids[id];
    std::size_t kept = 0;
    for (auto& c : list) {
      if (live && still_open(*c.connection)) {
        list[kept++] = std::move(c);
      } else {
        close(*c.connection);
      }
    }
    list.erase(list.begin() + static_cast<std::ptrdiff_t>(kept), list.end());
  }
}

void UpstreamPool::close_removed(const std::vector<bool>& live_ids) {
  for (std::size_t id = 0; id < idle_.size(); ++id) {
    if (id < live_ids.size() && live_ids[id]) continue;
    for (auto& c : idle_[id]) close(*c.connection);
    idle_[id].clear();
  }
}

void UpstreamPool::clear() {
  for (auto& list : idle_) {
    for (auto& c : list) close(*c.connection);
    list.clear();
  }
}

}  // namespace canaryd::proxy
