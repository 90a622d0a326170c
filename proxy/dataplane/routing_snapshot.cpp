// Builds a RoutingSnapshot from a config and a routing state, and hands out endpoint ids (see
// routing_snapshot.hpp).
#include "proxy/dataplane/routing_snapshot.hpp"

#include "proxy/net/resolve.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
using asio::ip::tcp;

std::uint32_t EndpointRegistry::id_for(const std::string& identity) {
  // Ids are dense (0, 1, 2, ...): each worker's pools are indexed by them.
  return ids_.try_emplace(identity, static_cast<std::uint32_t>(ids_.size())).first->second;
}

std::string EndpointRegistry::identity(const config::Endpoint& ep) {
  std::string id = ep.address.to_string();
  if (ep.tls) id += " tls ca=" + ep.tls->ca + " name=" + ep.tls->server_name;
  return id;
}


bool RoutingSnapshot::override_allowed(const boost::asio::ip::address& peer) const {
  if (override_sources.empty()) return true;
  if (peer.is_v4()) return config::any_contains(override_sources, peer.to_v4().to_bytes());
  return config::any_contains(override_sources, peer.to_v6().to_bytes());
}

namespace {

// routing.affinity (validated by the config: set_cookie names the key's cookie).
void set_affinity(const config::Affinity& affinity, RoutingSnapshot& snap) {
  using Key = config::Affinity::Key;
  snap.affinity_kind = affinity.key == Key::Cookie   ? AffinityKind::Cookie
                       : affinity.key == Key::Header ? AffinityKind::Header
                       : affinity.key == Key::ClientIp ? AffinityKind::ClientIp
                                                       : AffinityKind::None;
  snap.affinity_name = affinity.name;
  if (snap.affinity_kind == AffinityKind::Cookie && affinity.set_cookie == affinity.name)
    snap.set_cookie = affinity.set_cookie;
}

// Distinct for every snapshot of the process (main thread only).
std::uint64_t next_serial() {
  static std::uint64_t serials = 0;
  return ++serials;
}

// Everything the routing state decides but the sets: a weight change rewrites only these.
void set_routing_state(const weights::RoutingState& state, RoutingSnapshot& snap) {
  snap.canary_weight = state.canary ? state.canary_weight : 0;
  snap.canary_aborted = state.canary && state.aborted;
  snap.revision = state.revision;
  snap.affinity_salt = state.affinity_salt;
}

}  // namespace

std::shared_ptr<RoutingSnapshot> with_routing_state(const RoutingSnapshot& previous,
                                                    const weights::RoutingState& state) {
  auto snap = std::make_shared<RoutingSnapshot>(previous);
  snap->serial = next_serial();
  set_routing_state(state, *snap);
  return snap;
}

std::shared_ptr<RoutingSnapshot> build_snapshot(const config::Config& cfg, const weights::RoutingState& state,
                                                EndpointRegistry& registry, std::vector<std::string>& problems,
                                                const std::function<bool(const std::string&)>& is_healthy,
                                                const TlsSetup* tls) {
  auto snap = std::make_shared<RoutingSnapshot>();
  snap->serial = next_serial();
  auto stable = config::Selector::conjunction(cfg.service.selector, state.stable);
  std::optional<config::Selector> canary;
  if (state.canary) canary = config::Selector::conjunction(cfg.service.selector, *state.canary);

  for (std::size_t i = 0; i < cfg.endpoints.size(); ++i) {
    const auto& ep = cfg.endpoints[i];
    bool in_stable = stable.matches(ep.labels);
    bool in_canary = canary && canary->matches(ep.labels);
    if (!in_stable && !in_canary) continue;
    UpstreamEndpoint up;
    auto resolved = resolve_host_port(ep.address, &snap->endpoints_by_name);
    if (!resolved) {
      problems.push_back("endpoint " + ep.address.to_string() + ": " + resolved.error().message);
      continue;
    }
    up.address = *resolved;
    up.name = ep.address.to_string();
    up.healthy = !is_healthy || is_healthy(up.name);
    up.id = registry.id_for(EndpointRegistry::identity(ep));
    if (ep.tls) {
      if (!tls || i >= tls->endpoints.size() || !tls->endpoints[i]) {
        problems.push_back("endpoint " + up.name + ": its TLS settings are not loaded");
        continue;
      }
      up.tls = tls->endpoints[i];
    }
    // Disjointness is validated on every change, so an endpoint lands in at most one set.
    snap->sets[in_stable ? 0 : 1].push_back(std::move(up));
  }
  set_routing_state(state, *snap);
  snap->override_header = cfg.routing.override_header;
  snap->response_header = cfg.routing.response_header;
  snap->access_log = !cfg.access_log.path.empty();
  snap->override_cookie = cfg.routing.override_cookie;
  snap->override_sources = cfg.routing.override_sources;
  set_affinity(cfg.routing.affinity, *snap);
  snap->retries = cfg.routing.retries;
  snap->timeouts = cfg.timeouts;
  snap->limits = cfg.limits;
  snap->max_connections = cfg.limits.max_connections.value_or(0);
  snap->max_endpoint_id = registry.max_id();
  snap->live_ids.assign(std::size_t{snap->max_endpoint_id} + 1, false);
  for (const auto& set : snap->sets)
    for (const auto& ep : set) snap->live_ids[ep.id] = true;
  if (tls) snap->listener_tls = tls->listeners;
  for (const auto& l : cfg.listen) snap->listener_http2.push_back(l.http2);
  if (cfg.health && cfg.health->max_ejected_percent > 0) snap->ejection_threshold = cfg.health->unhealthy_threshold;
  return snap;
}

}  // namespace canaryd::proxy
