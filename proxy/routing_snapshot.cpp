#include "proxy/routing_snapshot.hpp"

#include <algorithm>

#include "proxy/resolve.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
using asio::ip::tcp;

std::uint32_t EndpointRegistry::id_for(const std::string& address) {
  auto it = std::find(names_.begin(), names_.end(), address);
  if (it != names_.end()) return static_cast<std::uint32_t>(it - names_.begin());
  names_.push_back(address);
  return next_++;
}


std::shared_ptr<const RoutingSnapshot> build_snapshot(const config::Config& cfg, const weights::RoutingState& state,
                                                      EndpointRegistry& registry, std::vector<std::string>& problems,
                                                      const std::function<bool(const std::string&)>& is_healthy) {
  auto snap = std::make_shared<RoutingSnapshot>();
  auto stable = config::Selector::conjunction(cfg.service.selector, state.stable);
  std::optional<config::Selector> canary;
  if (state.canary) canary = config::Selector::conjunction(cfg.service.selector, *state.canary);

  for (const auto& ep : cfg.endpoints) {
    bool in_stable = stable.matches(ep.labels);
    bool in_canary = canary && canary->matches(ep.labels);
    if (!in_stable && !in_canary) continue;
    UpstreamEndpoint up;
    std::string problem;
    auto resolved = resolve_host_port(ep.address, problem);
    if (!resolved) {
      problems.push_back("endpoint " + ep.address.to_string() + ": " + problem);
      continue;
    }
    up.address = *resolved;
    up.name = ep.address.to_string();
    up.healthy = !is_healthy || is_healthy(up.name);
    up.id = registry.id_for(up.name);
    // Disjointness is validated on every change, so an endpoint lands in at most one set.
    snap->sets[in_stable ? 0 : 1].push_back(std::move(up));
  }
  snap->canary_weight = state.canary ? state.canary_weight : 0;
  snap->revision = state.revision;
  snap->override_header = cfg.routing.override_header;
  snap->response_header = cfg.routing.response_header;
  snap->retries = cfg.routing.retries;
  snap->timeouts = cfg.timeouts;
  snap->limits = cfg.limits;
  snap->max_endpoint_id = registry.max_id();
  return snap;
}

}  // namespace canaryd::proxy
