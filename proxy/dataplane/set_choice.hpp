// Which set (stable or canary) serves a request: the one routing decision of the request path, as a
// function of the request's routing hints, the snapshot and the worker's splitter. No sockets.
#pragma once

#include <string_view>

#include "proxy/dataplane/routing_snapshot.hpp"
#include "weights/splitter.hpp"

namespace canaryd::proxy {

/// What the routing override field asks for: "always" (canary) or "never" (stable), case-insensitive;
/// any other value, or no field, asks nothing.
enum class ForcedSet : std::uint8_t { None, Canary, Stable };
ForcedSet forced_set(bool has_override, std::string_view override_value);

/// What of the request routing looks at. The targeting issue adds its hints here (a cookie, an
/// affinity key).
struct RouteHints {
  ForcedSet forced = ForcedSet::None;
};

struct SetChoice {
  SetKind set = SetKind::None;  ///< None: neither set has a healthy endpoint (the request gets 503)
  bool fell_back = false;       ///< the set first chosen had no healthy endpoint; `set` is the other one
  /// The weight placed the request: nothing forced it (no override, no abort) and it did not fall
  /// back. Only these requests are evidence for the rollout analysis (each judged at the weight in
  /// force), since an error among them comes from the canary with probability equal to its share.
  bool weight_placed = false;
};

/// True when some endpoint of `set` is healthy.
bool has_healthy(const std::vector<UpstreamEndpoint>& set);

/// The set for one request, in this order: an aborted canary gets nothing (abort means zero: stable or
/// no set, never the canary, whatever the override field asks); the override field; then the weight, drawn from
/// `splitter` (only when nothing forced the choice, so that forced requests do not move the split);
/// then, if that set has no healthy endpoint, the other set. New rules (a targeting cookie, sticky
/// affinity, an aborted canary getting no traffic) go into this function, in that order of precedence.
SetChoice choose_set(const RoutingSnapshot& snapshot, const RouteHints& hints, weights::Splitter& splitter);

}  // namespace canaryd::proxy
