// One revision of the routing state (stable and canary selectors, canary weight, time, cause) and the
// RFC 3339 form of its time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "config/selector.hpp"
#include "config/weight.hpp"
#include "weights/rollout_record.hpp"

namespace canaryd::weights {

using Clock = std::chrono::system_clock;

/// One revision of the routing state. Selectors are the set selectors as the operator gave them
/// (without service.selector); outputs print them joined with service.selector.
struct RoutingState {
  std::uint64_t revision = 1;
  config::Selector stable;
  std::optional<config::Selector> canary;
  config::BasisPoints canary_weight = 0;  ///< 0 whenever canary is empty
  /// Set by a rollback (abort means zero): the canary serves nothing at all, overrides and fallback
  /// included, until a change sets a weight again (set_weight, define_canary, undo, promote).
  bool aborted = false;
  /// The affinity salt of the canary definition (weights/affinity.hpp): a new canary draws a new one,
  /// so each canary exposes a different slice of users; kept with the state so every replica and worker
  /// places a key alike, and undo restores it with its canary. 0 in files written before it existed.
  std::uint64_t affinity_salt = 0;
  /// The rollout this revision belongs to, or the last one that ran (finished rollouts stay, so GET
  /// /api/rollout shows how it ended); absent before the first rollout.
  std::optional<RolloutRecord> rollout;
  std::string cause;
  Clock::time_point time{};

  bool operator==(const RoutingState&) const = default;
};

/// RFC 3339 UTC with seconds: 2026-11-27T15:00:00Z.
std::string format_time(Clock::time_point t);
/// Parses what format_time prints.
std::optional<Clock::time_point> parse_time(const std::string& text);

}  // namespace canaryd::weights
