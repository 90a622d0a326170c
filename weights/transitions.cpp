// The routing changes as pure functions (see transitions.hpp): each builds the next revision from the
// current one, or says why it cannot.
#include "weights/transitions.hpp"

#include <sys/random.h>
#include <sys/types.h>

#include <random>

namespace canaryd::weights {

namespace {

Failure<TransitionError> refuse(TransitionError::Kind kind, std::string message) {
  return fail(TransitionError{kind, std::move(message)});
}

Failure<TransitionError> conflict(std::string message) {
  return refuse(TransitionError::Kind::Conflict, std::move(message));
}

Failure<TransitionError> no_canary() { return conflict("no canary set is defined"); }

// The API validates weights before calling; this guards other callers (reload, tests) from an
// out-of-range value that the splitter would turn into "always canary".
Result<void, TransitionError> check_weight(config::BasisPoints weight) {
  if (weight > config::kMaxBasisPoints) {
    return refuse(TransitionError::Kind::InvalidArgument, "canary_weight must be from 0 to 100");
  }
  return {};
}

/// A running rollout owns the weight and the sets: a manual change would be overwritten by its next
/// step, so it is refused; rollback and promote end the rollout instead (see rollout_transitions.hpp).
Result<void, TransitionError> no_rollout_running(const RoutingHistory& h) {
  const auto& rollout = h.current().rollout;
  if (!rollout || !rollout->active()) return {};
  return conflict("a rollout is in progress (step " + std::to_string(rollout->step) + "/" +
                  std::to_string(rollout->steps()) + ", " + phase_name(rollout->phase) +
                  "): pause, abort or promote it (canaryctl rollout pause|abort|promote) before changing the routing by hand");
}

/// Ends a running rollout carried into `next` (rollback: aborted; promote: completed).
void finish_rollout(RoutingState& next, RolloutPhase phase, std::string reason) {
  if (!next.rollout || !next.rollout->active()) return;
  next.rollout->phase = phase;
  next.rollout->pause_until.reset();
  next.rollout->pause_left.reset();
  next.rollout->reason = std::move(reason);
}

}  // namespace

std::uint64_t random_affinity_salt() {
  // getrandom(2) rather than std::random_device: constructing one runs CPUID, which a virtual machine
  // traps, and that was 13 % of the main thread's CPU samples for a weight change (perf, in a VM).
  std::uint64_t salt = 0;
  if (::getrandom(&salt, sizeof salt, 0) == static_cast<ssize_t>(sizeof salt)) return salt;
  std::random_device device;  // no getrandom (Linux < 3.17)
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

/// The current state with the bookkeeping of a new revision; callers change only what the call is about.
RoutingState next_revision(const RoutingHistory& h, const TransitionContext& ctx) {
  RoutingState next = h.current();
  next.revision = h.current().revision + 1;
  next.time = ctx.now;
  next.cause = ctx.cause;
  // Every change but a rollback sets a weight or the sets, and so ends an abort; rollback sets it again.
  next.aborted = false;
  return next;
}

/// `next` as the result of a change, or the current state itself (same revision) when `next` routes
/// exactly as it does: a change that changes nothing creates no revision (contract section 7, "Scripts").
/// Only the bookkeeping of a revision is left out of the comparison, so a field added to RoutingState
/// counts as a change without touching this.
RoutingState unless_unchanged(const RoutingHistory& h, RoutingState next) {
  const RoutingState& cur = h.current();
  RoutingState same = next;
  same.revision = cur.revision;
  same.time = cur.time;
  same.cause = cur.cause;
  return same == cur ? cur : next;
}

CanaryEndpoints canary_endpoints(const RoutingState& state, const TransitionContext& ctx) {
  CanaryEndpoints found;
  if (!state.canary) return found;
  const auto canary_set = config::Selector::conjunction(ctx.service_selector, *state.canary);
  for (std::size_t i = 0; i < ctx.endpoint_labels.size(); ++i) {
    if (!canary_set.matches(ctx.endpoint_labels[i])) continue;
    found.any = true;
    if (i >= ctx.endpoint_healthy.size() || ctx.endpoint_healthy[i]) found.any_healthy = true;
  }
  return found;
}

bool sets_disjoint(const config::Selector& service, const config::Selector& a, const config::Selector& b) {
  return config::Selector::conjunction(service, a).provably_disjoint(config::Selector::conjunction(service, b));
}

TransitionResult set_weight(const RoutingHistory& h, config::BasisPoints weight, const TransitionContext& ctx) {
  if (auto free = no_rollout_running(h); !free) return fail(std::move(free).error());
  if (auto checked = check_weight(weight); !checked) return fail(std::move(checked).error());
  if (!h.current().canary) return no_canary();
  RoutingState next = next_revision(h, ctx);
  next.canary_weight = weight;
  return unless_unchanged(h, std::move(next));
}

TransitionResult promote(const RoutingHistory& h, const TransitionContext& ctx, bool force) {
  const RoutingState& cur = h.current();
  if (!cur.canary) return no_canary();
  // Promoting a canary that selects nothing would leave the service without a stable set: refuse, like a
  // Deployment that never becomes available. Force does not lift this: there is nothing to promote.
  const auto canary_set = config::Selector::conjunction(ctx.service_selector, *cur.canary);
  const auto [any, any_healthy] = canary_endpoints(cur, ctx);
  if (!any) {
    return conflict("canary set " + canary_set.to_string() + " has no endpoint; nothing to promote");
  }
  // The promote gate (contract section 7): promoting a canary that is down is an outage.
  if (!any_healthy && !force) {
    return conflict("canary set " + canary_set.to_string() +
                    " has no healthy endpoint; promoting it would fail every request (force to promote anyway)");
  }
  RoutingState next = next_revision(h, ctx);
  next.stable = *cur.canary;
  next.canary.reset();
  next.canary_weight = 0;
  finish_rollout(next, RolloutPhase::Completed, "promoted");
  return next;
}

TransitionResult rollback(const RoutingHistory& h, const TransitionContext& ctx) {
  if (!h.current().canary) return no_canary();
  RoutingState next = next_revision(h, ctx);
  next.canary_weight = 0;
  next.aborted = true;
  finish_rollout(next, RolloutPhase::Aborted, ctx.cause.empty() ? "rolled back" : "rolled back: " + ctx.cause);
  return unless_unchanged(h, std::move(next));
}

TransitionResult undo(const RoutingHistory& h, std::optional<std::uint64_t> to_revision, const TransitionContext& ctx) {
  if (auto free = no_rollout_running(h); !free) return fail(std::move(free).error());
  const RoutingState* target = nullptr;
  if (to_revision) {
    target = h.find(*to_revision);
    if (target == nullptr) {
      return refuse(TransitionError::Kind::NotFound, "revision " + std::to_string(*to_revision) + " not found in history");
    }
  } else {
    // The one before the current, so that repeated undo toggles between the last two revisions, as
    // `kubectl rollout undo` does.
    target = h.previous();
    if (target == nullptr) return conflict("no previous revision to undo to");
  }
  // The service selector may have changed by a reload since that revision was made; never restore an
  // overlap the API would refuse today.
  if (target->canary && !sets_disjoint(ctx.service_selector, target->stable, *target->canary)) {
    return conflict("revision " + std::to_string(target->revision) +
                    ": its canary set overlaps its stable set under the current service selector");
  }
  RoutingState next = next_revision(h, ctx);
  next.stable = target->stable;
  next.canary = target->canary;
  next.canary_weight = target->canary ? target->canary_weight : 0;
  // Its users go where they went then (a promote in between does not reshuffle them either: the salt
  // only matters while a canary is defined).
  next.affinity_salt = target->affinity_salt;
  return unless_unchanged(h, std::move(next));
}

TransitionResult define_canary(const RoutingHistory& h, const config::Selector& canary, config::BasisPoints weight,
                               const TransitionContext& ctx) {
  if (auto checked = check_weight(weight); !checked) return fail(std::move(checked).error());
  if (auto free = no_rollout_running(h); !free) return fail(std::move(free).error());
  const RoutingState& cur = h.current();
  if (!sets_disjoint(ctx.service_selector, cur.stable, canary)) {
    return conflict("canary set " + config::Selector::conjunction(ctx.service_selector, canary).to_string() +
                    " overlaps the stable set " +
                    config::Selector::conjunction(ctx.service_selector, cur.stable).to_string());
  }
  RoutingState next = next_revision(h, ctx);
  // A new canary definition exposes a new slice of users; the same one again keeps its slice.
  if (cur.canary != canary) next.affinity_salt = ctx.fresh_salt;
  next.canary = canary;
  next.canary_weight = weight;
  return unless_unchanged(h, std::move(next));
}

TransitionResult remove_canary(const RoutingHistory& h, const TransitionContext& ctx) {
  if (auto free = no_rollout_running(h); !free) return fail(std::move(free).error());
  // Removing what is not there changes nothing: 200 and no revision, so a cleanup script can run twice.
  if (!h.current().canary) return h.current();
  RoutingState next = next_revision(h, ctx);
  next.canary.reset();
  next.canary_weight = 0;
  return next;
}

}  // namespace canaryd::weights
