// What the workers route on: the immutable RoutingSnapshot (sets and their endpoints, weight, limits, TLS),
// built on the main thread for every change, and the endpoint ids that key the connection pools.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "config/config.hpp"
#include "proxy/http/request_validator.hpp"
#include "proxy/net/tls_context.hpp"
#include "weights/routing_state.hpp"

namespace canaryd::proxy {

/// Which set served a request; the index into per-set arrays and metric labels.
enum class SetKind : std::uint8_t { Stable = 0, Canary = 1, None = 2 };
inline constexpr std::array<const char*, 3> kSetNames = {"stable", "canary", "none"};
/// The name a response header gives the set that served; null when no set did (nothing to name).
inline const char* served_set_name(SetKind set) {
  return set == SetKind::None ? nullptr : kSetNames[static_cast<std::size_t>(set)];
}

/// One upstream endpoint as the workers use it: resolved, with a process-wide stable id that indexes
/// each worker's connection pools.
struct UpstreamEndpoint {
  std::uint32_t id = 0;
  boost::asio::ip::tcp::endpoint address;
  std::string name;  ///< "127.0.0.1:18081", as configured
  bool healthy = true;
  std::shared_ptr<const UpstreamTls> tls;  ///< null: plain HTTP
};

/// What a request's affinity key is (routing.affinity.key).
enum class AffinityKind : std::uint8_t { None, Cookie, Header, ClientIp };

/// Everything a worker needs to route and proxy a request, immutable once published. Built on the main
/// thread for every change (API call, reload) and posted to each worker as shared_ptr<const>.
struct RoutingSnapshot {
  std::array<std::vector<UpstreamEndpoint>, 2> sets;  ///< [Stable], [Canary]
  config::BasisPoints canary_weight = 0;
  /// The routing state's abort flag: the canary set serves nothing, whatever a request asks for.
  bool canary_aborted = false;
  std::uint64_t revision = 0;
  /// Distinct for every snapshot built in this process (what a session's per-snapshot answers key on).
  std::uint64_t serial = 0;
  std::string override_header;
  std::string response_header;
  /// access_log.path is set: each finished request appends its line to the worker's access log buffers.
  bool access_log = false;
  // Targeting (contract section 8), precomputed from the config so that a request parses nothing.
  std::string override_cookie;                ///< "" disables
  std::vector<config::Cidr> override_sources;  ///< whose overrides count; empty: every client
  AffinityKind affinity_kind = AffinityKind::None;
  std::string affinity_name;  ///< the cookie's or header's name of the affinity key
  std::string set_cookie;     ///< "" or the affinity cookie canaryd gives clients without one
  std::uint64_t affinity_salt = 0;  ///< the routing state's: the canary definition's slice of users
  unsigned retries = 2;
  config::Timeouts timeouts;
  config::Limits limits;
  /// Client connections at once, all workers together (limits.max_connections, or by default what the
  /// descriptors allow); 0: no limit.
  std::uint64_t max_connections = 0;
  /// Idle keep-alive upstream connections one worker keeps at most, over all endpoints.
  std::size_t max_idle_upstream = SIZE_MAX;
  std::uint32_t max_endpoint_id = 0;  ///< pools are sized to this + 1
  /// [id]: the endpoint is in a set (the pools of the others are closed). Worked out once here rather
  /// than by every worker on every publication and sweep.
  std::vector<bool> live_ids;
  /// TLS context per listener index (null: plain). Here rather than in the worker so that a SIGHUP's
  /// new certificate reaches every worker with the same atomic publication as the rest.
  std::vector<TlsContextPtr> listener_tls;
  /// Per listener index: a plain listener that also takes HTTP/2 with prior knowledge (listen[].http2).
  std::vector<bool> listener_http2;
  /// Failed requests in a row after which a worker reports an endpoint for passive ejection; 0: off.
  unsigned ejection_threshold = 0;
  /// Main thread: some endpoint is a host name, so the next snapshot is built anew (with_routing_state
  /// would keep addresses that DNS may have moved, or leave out for good a name that did not resolve).
  bool endpoints_by_name = false;

  const std::vector<UpstreamEndpoint>& set(SetKind k) const { return sets[static_cast<std::size_t>(k)]; }
  /// The fields and cookies check_request_head reports for the routing.
  RouteFieldNames route_fields() const {
    return {override_header, override_cookie, affinity_kind == AffinityKind::Cookie ? affinity_name : std::string_view{},
            affinity_kind == AffinityKind::Header ? affinity_name : std::string_view{}};
  }
  /// Whether the overrides of a client at `peer` (the TCP peer, never X-Forwarded-For) count. A
  /// session asks once per snapshot, not per request.
  bool override_allowed(const boost::asio::ip::address& peer) const;
};

/// Hands out one id per distinct endpoint (its address and how we speak to it: plain, or TLS with
/// that CA and name) for the life of the process, so pools survive reloads and a pooled connection is
/// never reused under different TLS settings. Main thread only.
class EndpointRegistry {
 public:
  std::uint32_t id_for(const std::string& identity);
  /// The identity of a configured endpoint, as id_for() takes it.
  static std::string identity(const config::Endpoint& ep);
  std::uint32_t max_id() const { return ids_.empty() ? 0 : static_cast<std::uint32_t>(ids_.size() - 1); }

 private:
  // Hashed: a snapshot of 1,000 endpoints per set is built on every weight change.
  std::unordered_map<std::string, std::uint32_t> ids_;
};

/// Builds the snapshot for a config and a routing state. Endpoint host names are resolved here (main
/// thread); an endpoint that does not resolve is left out and reported in `problems`. `is_healthy`
/// gives each endpoint's health by address (empty: all healthy). `tls` holds the contexts loaded for
/// `cfg` (null: a config without TLS). The caller may complete it (the connection budget) before it
/// publishes it.
std::shared_ptr<RoutingSnapshot> build_snapshot(const config::Config& cfg, const weights::RoutingState& state,
                                                EndpointRegistry& registry, std::vector<std::string>& problems,
                                                const std::function<bool(const std::string&)>& is_healthy = {},
                                                const TlsSetup* tls = nullptr);

/// What a snapshot's endpoint sets depend on in the routing state: its set selectors. The weight, the
/// abort flag and the affinity salt are not among them.
struct SetSelectors {
  config::Selector stable;
  std::optional<config::Selector> canary;
  explicit SetSelectors(const weights::RoutingState& state) : stable(state.stable), canary(state.canary) {}
  bool operator==(const SetSelectors&) const = default;
};

/// The snapshot of a routing state change that keeps the sets: a copy of `previous` with `state`'s
/// weight, abort flag, revision and affinity salt and a serial of its own. Only for a `state` with the
/// SetSelectors `previous` was built with, when nothing else it was built from (config, health, TLS)
/// changed since, and not when previous.endpoints_by_name: the endpoint arrays are copied instead of
/// matched, resolved and registered again (a weight change at 1,000 endpoints per set, bench/README.md
/// "How it scales").
std::shared_ptr<RoutingSnapshot> with_routing_state(const RoutingSnapshot& previous,
                                                    const weights::RoutingState& state);

}  // namespace canaryd::proxy
