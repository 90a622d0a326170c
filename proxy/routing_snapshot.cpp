#include "proxy/routing_snapshot.hpp"

#include <algorithm>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

namespace canaryd::proxy {
namespace asio = boost::asio;
using asio::ip::tcp;

std::uint32_t EndpointRegistry::id_for(const std::string& address) {
  auto it = std::find(names_.begin(), names_.end(), address);
  if (it != names_.end()) return static_cast<std::uint32_t>(it - names_.begin());
  names_.push_back(address);
  return next_++;
}

namespace {

bool resolve(const config::HostPort& hp, tcp::endpoint& out, std::string& problem) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(hp.host, ec);
  if (!ec) {
    out = tcp::endpoint(addr, hp.port);
    return true;
  }
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(hp.host, std::to_string(hp.port), ec);
  if (ec || results.empty()) {
    problem = "endpoint " + hp.to_string() + ": cannot resolve: " + ec.message();
    return false;
  }
  out = results.begin()->endpoint();
  return true;
}

}  // namespace

std::shared_ptr<const RoutingSnapshot> build_snapshot(const config::Config& cfg, const weights::RoutingState& state,
                                                      EndpointRegistry& registry, std::vector<std::string>& problems) {
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
    if (!resolve(ep.address, up.address, problem)) {
      problems.push_back(problem);
      continue;
    }
    up.name = ep.address.to_string();
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
