// Endpoints from Kubernetes: KubeDiscovery watches the namespace's pods matching the service selector and
// hands every change of the Ready ones to the server.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "config/config.hpp"
#include "proxy/kube/kube_client.hpp"
#include "proxy/kube/kube_list_watch.hpp"
#include "proxy/kube/kube_pods.hpp"

namespace canaryd::proxy {

/// Pod discovery: lists and watches the namespace's pods with labelSelector = service.selector and
/// hands every change of the endpoint list (Ready pods with an IP, not terminating) to `on_endpoints`
/// at once. While the API server is unreachable the last known pods stay. Main thread only.
class KubeDiscovery {
 public:
  using OnEndpoints = std::function<void(std::vector<config::Endpoint>)>;
  KubeDiscovery(boost::asio::io_context& io, std::unique_ptr<KubeClient> client, config::KubernetesDiscovery settings,
                std::string label_selector, OnEndpoints on_endpoints);

  void start();
  void stop();
  /// Applies new settings and selector (SIGHUP): relists when the namespace or selector changed.
  void reconfigure(config::KubernetesDiscovery settings, std::string label_selector);

  /// True once a list has succeeded: the endpoints are known.
  bool synced() const { return watch_.synced(); }
  bool reachable() const { return watch_.reachable(); }
  std::uint64_t lists() const { return watch_.lists(); }
  /// One line for /readyz: "pods of namespace web (name=nginx): 4 ready; ...".
  std::string describe() const;

 private:
  std::string pods_path() const;
  void publish_if_changed(bool force);

  std::unique_ptr<KubeClient> client_;
  config::KubernetesDiscovery settings_;
  std::string selector_;
  OnEndpoints on_endpoints_;
  PodSet pods_;
  std::vector<config::Endpoint> published_;
  KubeListWatch watch_;
};

}  // namespace canaryd::proxy
