// One open client connection as the process counts it, for as long as its token lives: the token moves
// with the connection (a session, a parked record, the session it wakes into).
#pragma once

#include <atomic>
#include <utility>

#include "proxy/dataplane/session_context.hpp"

namespace canaryd::proxy {

/// Counts a client connection in canaryd_active_connections (from its creation) and in the process's
/// open connections (limits.max_connections: the worker's accept counted it there) until destroyed,
/// unless moved from. Worker thread only.
class ConnectionCount {
 public:
  explicit ConnectionCount(SessionContext& ctx) : ctx_(&ctx) { ctx.metrics.client_connections(+1); }
  ConnectionCount(ConnectionCount&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}
  ConnectionCount& operator=(ConnectionCount&&) = delete;
  ~ConnectionCount() {
    if (ctx_ == nullptr) return;
    ctx_->metrics.client_connections(-1);
    ctx_->open_connections.fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  SessionContext* ctx_;
};

}  // namespace canaryd::proxy
