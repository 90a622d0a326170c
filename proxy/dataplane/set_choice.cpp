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
  // Abort means zero: no override, no draw, no fallback reaches an aborted canary.
  if (snapshot.canary_aborted) {
    if (has_healthy(snapshot.set(SetKind::Stable))) return {SetKind::Stable, false, false};
    return {SetKind::None, false, false};
  }
  SetKind chosen = SetKind::Stable;
  if (hints.forced == ForcedSet::Canary)
    chosen = SetKind::Canary;
  else if (hints.forced == ForcedSet::None && splitter.next_is_canary(snapshot.canary_weight))
    chosen = SetKind::Canary;
  if (has_healthy(snapshot.set(chosen))) return {chosen, false, hints.forced == ForcedSet::None};
  const SetKind other = chosen == SetKind::Stable ? SetKind::Canary : SetKind::Stable;
  if (!has_healthy(snapshot.set(other))) return {SetKind::None, false, false};
  return {other, true, false};
}

}  // namespace canaryd::proxy
