// UpstreamPool's keeping, taking, trimming and sweeping of idle upstream connections (see upstream_pool.hpp).
#include "proxy/dataplane/upstream_pool.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "proxy/dataplane/worker_metrics.hpp"

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
    --idle_count_;
    const bool trusted = resendable && std::chrono::steady_clock::now() - idle.since < kTrustedIdle;
    if (trusted || still_open(*idle.connection)) return std::move(idle.connection);
    close(*idle.connection);
  }
  return nullptr;
}

void UpstreamPool::give_back(std::uint32_t endpoint_id, Connection connection) {
  if (endpoint_id >= idle_.size()) idle_.resize(endpoint_id + 1);
  auto& list = idle_[endpoint_id];
  if (list.size() >= kMaxIdlePerEndpoint || idle_count_ >= max_idle_) {
    close(*connection);
    return;
  }
  connection->tcp().expires_never();
  list.push_back(Idle{std::move(connection), std::chrono::steady_clock::now()});
  ++idle_count_;
}

void UpstreamPool::set_max_idle(std::size_t most) {
  max_idle_ = most;
  // The oldest go first: the front of each list, endpoint by endpoint.
  for (auto& list : idle_) {
    if (idle_count_ <= max_idle_) return;
    const std::size_t drop = std::min(list.size(), idle_count_ - max_idle_);
    for (std::size_t i = 0; i < drop; ++i) close(*list[i].connection);
    list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(drop));
    idle_count_ -= drop;
  }
}

std::size_t UpstreamPool::sweep(const std::vector<bool>& live_ids, std::chrono::steady_clock::time_point now) {
  const std::size_t before = idle_count_;
  for (std::size_t id = 0; id < idle_.size(); ++id) {
    auto& list = idle_[id];
    bool live = id < live_ids.size() && live_ids[id];
    // The oldest are at the front; the newest kKeptIdle stay whatever their age.
    const std::size_t may_expire = list.size() > kKeptIdle ? list.size() - kKeptIdle : 0;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto& c = list[i];
      const bool unneeded = i < may_expire && now - c.since >= kUnneededAfter;
      if (live && !unneeded && still_open(*c.connection)) {
        list[kept++] = std::move(c);
      } else {
        close(*c.connection);
      }
    }
    idle_count_ -= list.size() - kept;
    list.erase(list.begin() + static_cast<std::ptrdiff_t>(kept), list.end());
  }
  return before - idle_count_;
}

void UpstreamPool::close_removed(const std::vector<bool>& live_ids) {
  for (std::size_t id = 0; id < idle_.size(); ++id) {
    if (id < live_ids.size() && live_ids[id]) continue;
    for (auto& c : idle_[id]) close(*c.connection);
    idle_count_ -= idle_[id].size();
    idle_[id].clear();
  }
}

void UpstreamPool::clear() {
  for (auto& list : idle_) {
    for (auto& c : list) close(*c.connection);
    list.clear();
  }
  idle_count_ = 0;
}

}  // namespace canaryd::proxy
