// Which set (stable or canary) serves a request: the one routing decision of the request path, as a
// function of the request's routing hints, the snapshot and the worker's splitter. No sockets.
#pragma once

#include <optional>
#include <string_view>

#include "proxy/dataplane/routing_snapshot.hpp"
#include "weights/route_decision.hpp"
#include "weights/splitter.hpp"

namespace canaryd::proxy {

/// What an override (the field or the cookie) asks for: "always" (canary) or "never" (stable),
/// case-insensitive; any other value, or none, asks nothing.
using ForcedSet = weights::Forced;
ForcedSet forced_set(bool has_override, std::string_view override_value);
inline ForcedSet forced_set(std::optional<std::string_view> value) { return forced_set(value.has_value(), value.value_or("")); }

/// What of the request routing looks at, gathered by the caller (overrides from outside
/// override_sources already dropped).
struct RouteHints {
  ForcedSet forced = ForcedSet::None;         ///< the override field
  ForcedSet cookie = ForcedSet::None;         ///< the override cookie
  std::optional<std::uint32_t> bucket = std::nullopt;  ///< the affinity key's bucket, when the request has the key
};

struct SetChoice {
  SetKind set = SetKind::None;  ///< None: neither set has a healthy endpoint (the request gets 503)
  bool fell_back = false;       ///< the set first chosen had no healthy endpoint; `set` is the other one
  /// The weight or the affinity placed the request: nothing forced it (no override, no abort) and it
  /// did not fall back. Only these requests are evidence for the rollout analysis (each judged at the weight in
  /// force), since an error among them comes from the canary with probability equal to its share.
  bool weight_placed = false;
  weights::RouteReason reason = weights::RouteReason::Weight;  ///< X-Canary-Reason, the metrics' reason
};

/// True when some endpoint of `set` is healthy.
bool has_healthy(const std::vector<UpstreamEndpoint>& set);

/// The set for one request: weights::decide_route (the one precedence: abort, override field, override
/// cookie, affinity, weight; then fallback) over the request's hints, the snapshot's weight and the
/// sets' health, with `splitter` as the weight's draw (only when nothing else decided, so that forced
/// and keyed requests do not move the split).
SetChoice choose_set(const RoutingSnapshot& snapshot, const RouteHints& hints, weights::Splitter& splitter);

}  // namespace canaryd::proxy
