// plan_reload: the SIGHUP policy, from the running config and the new one alone.
#include "proxy/control/reload_plan.hpp"

#include <algorithm>

#include "weights/transitions.hpp"

namespace canaryd::proxy {
namespace {

bool same_listen_addresses(const std::vector<config::Listener>& a, const std::vector<config::Listener>& b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](const auto& x, const auto& y) { return x.address == y.address; });
}

}  // namespace

ReloadPlan plan_reload(const config::Config& running, config::Config next, const weights::RoutingState& current,
                       const std::string& path) {
  ReloadPlan plan;
  auto refuse = [&](const std::string& why) {
    plan.refusal = "reload failed: " + path + ": " + why;
    return std::move(plan);
  };
  if (next.discovery.has_value() != running.discovery.has_value() || next.state_configmap != running.state_configmap)
    return refuse("switching between endpoints and discovery.kubernetes, or moving the state, takes a restart");
  if (next.discovery) {
    // The endpoints are the pods discovery knows; it keeps watching (a new namespace or selector relists).
    next.endpoints = running.endpoints;
    if (next.discovery->api_server != running.discovery->api_server ||
        next.discovery->kubeconfig != running.discovery->kubeconfig)
      plan.discovery_notice = "reload: discovery.kubernetes.api_server and kubeconfig take effect at the next restart";
  }
  if (current.canary && !weights::sets_disjoint(next.service.selector, current.stable, *current.canary))
    return refuse("service.selector: the current stable and canary sets would overlap");
  if (next.control.token_file.empty() && !running.control.token_file.empty())
    return refuse("control.token_file: a reload never turns the token requirement off; that takes a restart");
  // Listeners stay bound as they are; a listener keeps its place, so its TLS settings (a renewed
  // certificate, say) apply to the connections it accepts from now on.
  if (!same_listen_addresses(next.listen, running.listen)) {
    plan.listen_notice = "reload: listen addresses changed; they take effect at the next restart";
    next.listen = running.listen;
  }
  if (!(next.control.address == running.control.address))
    plan.control_notice = "reload: control.address changed; it takes effect at the next restart";
  next.control.address = running.control.address;
  next.threads = running.threads;
  next.state_file = running.state_file;
  plan.next = std::move(next);
  return plan;
}

}  // namespace canaryd::proxy
