// Pod discovery (see kube_discovery.hpp): the pods' list-watch, endpoints published when they change, and
// the /readyz line.
#include "proxy/kube/kube_discovery.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace canaryd::proxy {

KubeDiscovery::KubeDiscovery(boost::asio::io_context& io, std::unique_ptr<KubeClient> client,
                             config::KubernetesDiscovery settings, std::string label_selector, OnEndpoints on_endpoints)
    : client_(std::move(client)),
      settings_(std::move(settings)),
      selector_(std::move(label_selector)),
      on_endpoints_(std::move(on_endpoints)),
      watch_(io, *client_, "pods of namespace " + settings_.namespace_name,
             KubeListWatch::Handlers{
                 [this](const boost::json::value& list) -> Result<void> {
                   if (auto applied = pods_.apply_list(list); !applied) return applied;
                   publish_if_changed(true);
                   return {};
                 },
                 [this](const boost::json::value& event) -> Result<KubeListWatch::EventResult> {
                   auto applied = pods_.apply_event(event);
                   if (!applied) return fail(std::move(applied).error());
                   switch (*applied) {
                     case PodSet::EventResult::Changed:
                       publish_if_changed(false);
                       return KubeListWatch::EventResult::Applied;
                     case PodSet::EventResult::Unchanged:
                       return KubeListWatch::EventResult::Applied;
                     case PodSet::EventResult::Expired:
                       break;
                   }
                   return KubeListWatch::EventResult::Expired;
                 },
                 [this] { return pods_.resource_version(); }}) {}

void KubeDiscovery::start() { watch_.start(pods_path()); }

void KubeDiscovery::stop() { watch_.stop(); }

void KubeDiscovery::reconfigure(config::KubernetesDiscovery settings, std::string label_selector) {
  const bool relist = settings.namespace_name != settings_.namespace_name || label_selector != selector_;
  settings_ = std::move(settings);
  selector_ = std::move(label_selector);
  if (relist) {
    start();
  } else {
    publish_if_changed(false);  // a new port changes every endpoint's address
  }
}

std::string KubeDiscovery::pods_path() const {
  std::string path = "/api/v1/namespaces/" + settings_.namespace_name + "/pods";
  if (!selector_.empty()) path += "?labelSelector=" + boost::urls::encode(selector_, boost::urls::unreserved_chars);
  return path;
}

std::string KubeDiscovery::describe() const {
  std::string s = "pods of namespace " + settings_.namespace_name + (selector_.empty() ? "" : " (" + selector_ + ")") +
                  ": " + std::to_string(published_.size()) + " ready";
  if (!watch_.synced()) return s + "; waiting for the first list from " + client_->server();
  if (!watch_.reachable()) s += "; Kubernetes API " + client_->server() + " unreachable, serving the last known pods";
  return s;
}

void KubeDiscovery::publish_if_changed(bool force) {
  auto endpoints = pods_.endpoints(settings_);
  if (!force && endpoints == published_) return;
  published_ = endpoints;
  on_endpoints_(std::move(endpoints));
}

}  // namespace canaryd::proxy
