#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/config.hpp"
#include "proxy/kube_client.hpp"
#include "proxy/kube_pods.hpp"

namespace canaryd::proxy {

/// Pod discovery: lists the namespace's pods with labelSelector = service.selector, then watches from
/// the list's resourceVersion (with bookmarks), and hands every change of the endpoint list to
/// `on_endpoints` at once. A watch that ends resumes from the last resourceVersion; 410 Gone relists;
/// an unreachable API server is retried with capped exponential backoff while the last known pods keep
/// serving. Main thread only.
class KubeDiscovery {
 public:
  using OnEndpoints = std::function<void(std::vector<config::Endpoint>)>;
  /// `log` receives one line per state change (unreachable, reachable again, relist).
  KubeDiscovery(boost::asio::io_context& io, std::unique_ptr<KubeClient> client, config::KubernetesDiscovery settings,
                std::string label_selector, OnEndpoints on_endpoints);

  void start();
  void stop();

  /// Applies new settings and selector (SIGHUP): relists when they changed.
  void reconfigure(config::KubernetesDiscovery settings, std::string label_selector);

  /// True once a list has succeeded; the endpoints are then known.
  bool synced() const { return synced_; }
  /// True while the API server answers (the last list or watch connected).
  bool reachable() const { return reachable_; }
  /// One line for /readyz and logs: "pods of web (selector name=nginx): 4 ready; API reachable".
  std::string describe() const;

  std::uint64_t relists() const { return relists_; }
  std::uint64_t watch_restarts() const { return watch_restarts_; }

  static constexpr std::chrono::milliseconds kMinBackoff{250};
  static constexpr std::chrono::milliseconds kMaxBackoff{10'000};
  static constexpr std::chrono::milliseconds kRequestTimeout{10'000};
  /// Asked of the server per watch (it then ends the stream); the idle limit is a little above it.
  static constexpr int kWatchSeconds = 240;

 private:
  boost::asio::awaitable<void> run(std::uint64_t generation);
  bool list_ok(const KubeResponse& r);
  void publish_if_changed();
  std::string pods_path() const;
  void set_reachable(bool reachable, const std::string& why);

  boost::asio::io_context& io_;
  std::unique_ptr<KubeClient> client_;
  config::KubernetesDiscovery settings_;
  std::string selector_;
  OnEndpoints on_endpoints_;
  PodSet pods_;
  std::vector<config::Endpoint> published_;
  boost::asio::steady_timer backoff_timer_;
  std::uint64_t generation_ = 0;  ///< a new run() cancels the older one
  bool running_ = false;
  bool synced_ = false;
  bool reachable_ = false;
  std::optional<bool> reported_;
  std::uint64_t relists_ = 0;
  std::uint64_t watch_restarts_ = 0;
};

}  // namespace canaryd::proxy
