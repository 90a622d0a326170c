// The set choice of set_choice.hpp.
#include "proxy/dataplane/set_choice.hpp"

#include "proxy/http/http_text.hpp"

namespace canaryd::proxy {

ForcedSet forced_set(bool has_override, std::string_view override_value) {
  if (!has_override) return ForcedSet::None;
  if (http_text::iequals(override_value, "always")) return ForcedSet::Canary;
  if (http_text::iequals(override_value, "never")) return ForcedSet::Stable;
  return ForcedSet::None;
}

bool has_healthy(const std::vector<UpstreamEndpoint>& set) {
  for (const auto& ep : set)
    if (ep.healthy) return true;
  return false;
}

SetChoice choose_set(const RoutingSnapshot& snapshot, const RouteHints& hints, weights::Splitter& splitter) {
  weights::RouteFacts facts;
  facts.canary_aborted = snapshot.canary_aborted;
  facts.weight = snapshot.canary_weight;
  facts.header = hints.forced;
  facts.cookie = hints.cookie;
  facts.bucket = hints.bucket;
  facts.stable_healthy = has_healthy(snapshot.set(SetKind::Stable));
  facts.canary_healthy = has_healthy(snapshot.set(SetKind::Canary));
  const weights::RouteDecision d =
      weights::decide_route(facts, [&] { return splitter.next_is_canary(snapshot.canary_weight); });
  SetChoice choice;
  choice.set = d.set == weights::RouteSet::Stable ? SetKind::Stable
               : d.set == weights::RouteSet::Canary ? SetKind::Canary
                                                     : SetKind::None;
  choice.fell_back = d.reason == weights::RouteReason::Fallback && choice.set != SetKind::None;
  choice.weight_placed = d.evidence;
  choice.reason = d.reason;
  return choice;
}

}  // namespace canaryd::proxy
