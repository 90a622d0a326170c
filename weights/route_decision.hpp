// Who goes where (contract section 8): the one precedence of the routing rules as a pure function,
// called by the data plane for every request (proxy/dataplane/set_choice) and by POST /api/explain, so
// an operator's "why did this user get v2?" is answered by the very code that routed the user.
// Order: abort, override header, override cookie, affinity, weight; then fallback to the other set
// when the chosen one has no healthy endpoint. No allocation, no lock: it runs on the request path.
#pragma once

#include <cstdint>
#include <optional>

#include "config/weight.hpp"

namespace canaryd::weights {

enum class RouteSet : std::uint8_t { None, Stable, Canary };
/// Which rule decided (X-Canary-Reason, the metrics' `reason` label, /api/explain's "reason").
enum class RouteReason : std::uint8_t { Header, Cookie, Affinity, Weight, Fallback, Aborted };
const char* reason_name(RouteReason reason);  // "header", "cookie", "affinity", "weight", "fallback", "aborted"

/// What an override asks for: "always" (canary), "never" (stable); anything else, or an override
/// from outside override_sources, asks nothing.
enum class Forced : std::uint8_t { None, Canary, Stable };

/// Everything the decision looks at, gathered by the caller.
struct RouteFacts {
  bool canary_aborted = false;  ///< abort means zero: the canary gets nothing at all
  config::BasisPoints weight = 0;
  Forced header = Forced::None;
  Forced cookie = Forced::None;
  std::optional<std::uint32_t> bucket;  ///< the affinity key's bucket (affinity.hpp), when the request has the key
  bool stable_healthy = true;   ///< some endpoint of the set is healthy
  bool canary_healthy = true;   ///< false also when there is no canary set (weight is then 0)
};

struct RouteDecision {
  RouteSet set = RouteSet::None;  ///< None: no set has a healthy endpoint (503)
  RouteReason reason = RouteReason::Weight;
  /// True when the weight or the affinity placed it (not an override, a fallback or the abort): only
  /// those requests are rollout evidence.
  bool evidence = false;
};

/// The decision. `draw` (called at most once, only when the weight decides) answers whether this
/// request goes to the canary at `weight` basis points: the worker's splitter.
template <class Draw>
RouteDecision decide_route(const RouteFacts& f, Draw&& draw) {
  RouteDecision d;
  if (f.canary_aborted) {
    // Abort means zero: no override, key or fallback reaches the canary.
    d.set = f.stable_healthy ? RouteSet::Stable : RouteSet::None;
    d.reason = RouteReason::Aborted;
    return d;
  }
  if (f.header != Forced::None) {
    d.set = f.header == Forced::Canary ? RouteSet::Canary : RouteSet::Stable;
    d.reason = RouteReason::Header;
  } else if (f.cookie != Forced::None) {
    d.set = f.cookie == Forced::Canary ? RouteSet::Canary : RouteSet::Stable;
    d.reason = RouteReason::Cookie;
  } else if (f.bucket) {
    d.set = *f.bucket < f.weight ? RouteSet::Canary : RouteSet::Stable;
    d.reason = RouteReason::Affinity;
    d.evidence = true;
  } else {
    // Only a request nothing forced draws, so forced requests do not move the split.
    d.set = draw() ? RouteSet::Canary : RouteSet::Stable;
    d.reason = RouteReason::Weight;
    d.evidence = true;
  }
  // A set without a healthy endpoint (a canary that is not defined included) falls back to the other.
  const bool healthy = d.set == RouteSet::Canary ? f.canary_healthy : f.stable_healthy;
  if (!healthy) {
    const bool other_healthy = d.set == RouteSet::Canary ? f.stable_healthy : f.canary_healthy;
    d.set = other_healthy ? (d.set == RouteSet::Canary ? RouteSet::Stable : RouteSet::Canary) : RouteSet::None;
    d.reason = RouteReason::Fallback;
    d.evidence = false;
  }
  return d;
}

}  // namespace canaryd::weights
