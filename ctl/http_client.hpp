// canaryctl's real transport: one HTTP/1.1 connection per call, with deadlines, so that no call can hang.
#pragma once

#include <chrono>

#include "ctl/transport.hpp"

namespace canaryd::ctl {

/// Bounds of one call: nothing in canaryctl may hang an operator's script.
struct HttpTimeouts {
  std::chrono::milliseconds connect{5000};
  std::chrono::milliseconds total{30000};  ///< resolve + connect + request + response
};

/// HTTP/1.1 over Boost.Beast, one connection per call. Single-threaded; each send runs its own
/// io_context, so the deadlines of Beast's tcp_stream (which only time asynchronous operations) apply.
class HttpClient final : public Transport {
 public:
  explicit HttpClient(HttpTimeouts timeouts = {}) : timeouts_(timeouts) {}

  TransportResult send(const ServerUrl& server, const HttpRequest& request) override;

 private:
  HttpTimeouts timeouts_;
};

}  // namespace canaryd::ctl
