// Active health checks: HealthChecker probes every endpoint on the main thread and says which are healthy.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "config/config.hpp"
#include "proxy/net/tls_context.hpp"

namespace canaryd::proxy {

/// Active health checks (config `health:`): each endpoint is probed on the main thread's io_context
/// with `GET path` every interval. When an endpoint's health flips, `on_change` runs (the server then
/// publishes a new snapshot) and a line is logged. Main thread only.
class HealthChecker {
 public:
  HealthChecker(boost::asio::io_context& io, std::function<void()> on_change);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  /// (Re)starts probing `endpoints` with `settings`; without settings nothing is probed and every
  /// endpoint is healthy. Endpoints still present keep their health across a reload. `tls[i]` is how
  /// to reach endpoints[i] (null or absent: plain), so a TLS endpoint is probed over TLS.
  void configure(const std::optional<config::HealthCheck>& settings, const std::vector<config::Endpoint>& endpoints,
                 const std::vector<std::shared_ptr<const UpstreamTls>>& tls = {});
  /// Health by endpoint address as configured ("127.0.0.1:18081"); unknown addresses are healthy.
  bool healthy(const std::string& address) const;
  /// Stops every probe (drain).
  void stop();

 private:
  struct Probe;
  static boost::asio::awaitable<void> run(std::shared_ptr<Probe> probe, config::HealthCheck settings,
                                          std::function<void()> on_change);

  boost::asio::io_context& io_;
  std::function<void()> on_change_;
  std::map<std::string, std::shared_ptr<Probe>> probes_;
};

}  // namespace canaryd::proxy
