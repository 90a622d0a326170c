#include "weights/control_service.hpp"

namespace canaryd::weights {

ControlService::ControlService(RoutingHistory history, StateStore store)
    : history_(std::move(history)), store_(std::move(store)) {}

ControlService::ApplyResult ControlService::apply(
    const std::function<TransitionResult(const RoutingHistory&)>& transition) {
  RoutingState applied;
  {
    std::lock_guard lock(mutex_);
    TransitionResult result = transition(history_);
    if (std::holds_alternative<TransitionError>(result)) return result;

    // Persist a copy first: the change exists only once it is on disk, so a failed write must leave
    // the in-memory history exactly as it was (contract: "if that fails the answer is 500 and nothing
    // changed"). The lock is held across the write so that two racing calls cannot both build on the
    // same revision.
    RoutingHistory next = history_;
    next.push(std::get<RoutingState>(std::move(result)));
    std::string error;
    if (!store_.save(next, error)) return TransitionError{500, "cannot persist state: " + error};
    history_ = std::move(next);
    applied = history_.current();
  }
  // Outside the lock: the callback publishes snapshots to workers and may call back into current().
  if (on_change_) on_change_(applied);
  return applied;
}

void ControlService::set_history_limit(unsigned limit) {
  std::string error;
  (void)set_history_limit(limit, error);
}

bool ControlService::set_history_limit(unsigned limit, std::string& error) {
  std::lock_guard lock(mutex_);
  RoutingHistory next = history_;
  next.set_limit(limit);
  if (next == history_) return true;
  // Keep the new bound even when the write fails: the file then merely holds older revisions, which the
  // next load trims with the configured limit anyway. Refusing would leave a reload half applied.
  const bool saved = store_.save(next, error);
  history_ = std::move(next);
  return saved;
}

RoutingHistory ControlService::history() const {
  std::lock_guard lock(mutex_);
  return history_;
}

RoutingState ControlService::current() const {
  std::lock_guard lock(mutex_);
  return history_.current();
}

}  // namespace canaryd::weights
