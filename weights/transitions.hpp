// The routing changes the control API offers (set the weight, promote, roll back, undo, define or remove
// the canary) as pure functions from the history to the next state, or the reason there is none.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/labels.hpp"
#include "config/result.hpp"
#include "config/selector.hpp"
#include "config/weight.hpp"
#include "weights/routing_history.hpp"

namespace canaryd::weights {

/// Why a change was refused or did not happen, in the terms of the routing state (not of HTTP: the API
/// layer maps the kind to a status, see weights/api_error.hpp).
struct TransitionError {
  enum class Kind {
    InvalidArgument,  ///< the request itself is wrong (a weight out of range)
    NotFound,         ///< it names a revision the history does not hold
    Conflict,         ///< it does not apply to the state as it is (no canary, sets overlap, stale if_revision)
    StorageFailed,    ///< the change applies but could not be stored; nothing changed
    Contended,        ///< other writers kept getting in first; nothing changed, try again
  };
  Kind kind = Kind::InvalidArgument;
  std::string message;
};

/// What a transition may look at besides the history: the service and its endpoints now.
struct TransitionContext {
  config::Selector service_selector;
  std::vector<config::Labels> endpoint_labels;  ///< labels of every known endpoint
  /// Health of endpoint_labels[i] (the promote gate looks at it); an endpoint without an entry counts
  /// as healthy.
  std::vector<bool> endpoint_healthy;
  std::string cause;
  Clock::time_point now{};
  /// A random salt drawn for this call (transition_context() draws one): the affinity salt of a canary
  /// that define_canary defines.
  std::uint64_t fresh_salt = 0;
};

/// A random 64-bit affinity salt (std::random_device): for each call's context and the first revision.
std::uint64_t random_affinity_salt();

/// A new state (revision = current + 1) or the reason there is none. A change that would route exactly
/// as now (the same weight again, a second rollback) yields the current state itself, with its
/// revision: ControlService then writes and publishes nothing. Pure functions: nothing is applied here;
/// ControlService persists and publishes.
using TransitionResult = Result<RoutingState, TransitionError>;

/// Sets the canary percent and clears an abort (the same 0 after a rollback is a new revision);
/// Conflict without a canary set.
TransitionResult set_weight(const RoutingHistory& h, config::BasisPoints weight, const TransitionContext& ctx);
/// stable := canary, canary := none, weight := 0; Conflict without a canary or when it matches no endpoint,
/// and (the promote gate) when none of its endpoints is healthy unless `force`.
TransitionResult promote(const RoutingHistory& h, const TransitionContext& ctx, bool force = false);
/// weight := 0 and aborted (abort means zero), the canary stays defined; Conflict without a canary set.
/// A second rollback while aborted changes nothing.
TransitionResult rollback(const RoutingHistory& h, const TransitionContext& ctx);
/// Restores selectors, weight and affinity salt of `to_revision` (default: the one before the current)
/// as a new revision, so its users go where they went then; NotFound when it is not in the history.
TransitionResult undo(const RoutingHistory& h, std::optional<std::uint64_t> to_revision, const TransitionContext& ctx);
/// Defines a new canary set with a new affinity salt (ctx.fresh_salt), so a new canary exposes a new slice
/// of users; the same selector as the current canary keeps its salt (its users stay where they are).
/// Conflict when it is not provably disjoint from stable.
TransitionResult define_canary(const RoutingHistory& h, const config::Selector& canary, config::BasisPoints weight,
                               const TransitionContext& ctx);
/// Removes the canary set (weight 0); without one, nothing changes.
TransitionResult remove_canary(const RoutingHistory& h, const TransitionContext& ctx);

/// Whether the canary set of `state` has an endpoint in `ctx`, and a healthy one (the promote gate and
/// the rollout's "steps never move while the canary has no healthy endpoint").
struct CanaryEndpoints {
  bool any = false;
  bool any_healthy = false;
};
CanaryEndpoints canary_endpoints(const RoutingState& state, const TransitionContext& ctx);

/// The current state with the bookkeeping of a new revision (number, time, cause; the abort cleared):
/// what every transition starts from.
RoutingState next_revision(const RoutingHistory& h, const TransitionContext& ctx);
/// `next`, or the current state itself (same revision) when `next` differs from it only in that
/// bookkeeping: a change that changes nothing creates no revision.
RoutingState unless_unchanged(const RoutingHistory& h, RoutingState next);

/// True when service AND a and service AND b can never match the same labels.
bool sets_disjoint(const config::Selector& service, const config::Selector& a, const config::Selector& b);

}  // namespace canaryd::weights
