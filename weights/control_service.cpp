#include "weights/control_service.hpp"

namespace canaryd::weights {

ControlService::ControlService(RoutingHistory history, StateStore store)
    : ControlService(std::move(history), std::make_unique<FileStateBackend>(std::move(store))) {}

ControlService::ControlService(RoutingHistory history, std::unique_ptr<StateBackend> backend)
    : history_(std::move(history)), backend_(std::move(backend)) {}

ControlService::ApplyResult ControlService::apply(
    const std::function<TransitionResult(const RoutingHistory&)>& transition) {
  bool changed = false;  // a new revision was written
  bool adopted = false;  // another replica's newer history was read on the way
  TransitionResult outcome = TransitionError{503, "the shared state kept changing; try again"};
  {
    std::lock_guard lock(mutex_);
    for (int attempt = 0; attempt < kMaxConflicts; ++attempt) {
      TransitionResult result = transition(history_);
      if (std::holds_alternative<TransitionError>(result)) {
        outcome = std::move(result);
        break;
      }
      // A change that changes nothing comes back as the current state with its revision: nothing to
      // write and nothing to publish.
      if (std::get<RoutingState>(result).revision == history_.current().revision) {
        outcome = std::move(result);
        break;
      }
      // Persist a copy first: the change exists only once it is stored, so a failed write must leave
      // the in-memory history exactly as it was (contract: "if that fails the answer is 500 and
      // nothing changed"). The lock is held across the write so that two racing calls cannot both
      // build on the same revision.
      RoutingHistory next = history_;
      next.push(std::get<RoutingState>(std::move(result)));
      std::string error;
      const auto saved = backend_->save(next, error);
      if (saved == StateBackend::SaveResult::Saved) {
        history_ = std::move(next);
        outcome = history_.current();
        changed = true;
        break;
      }
      if (saved == StateBackend::SaveResult::Failed) {
        outcome = TransitionError{500, "cannot persist state: " + error};
        break;
      }
      // Someone else wrote first: build on what they wrote, and see whether the change still applies.
      auto fresh = backend_->load(history_.limit());
      if (fresh.kind != StateStore::Loaded::Kind::Ok) {
        outcome = TransitionError{500, "cannot re-read the state after a conflict: " + fresh.error};
        break;
      }
      history_ = std::move(*fresh.history);
      adopted = true;
    }
  }
  // Outside the lock: the callback publishes snapshots to workers and may call back into current().
  if (on_change_ && (changed || adopted)) on_change_(current());
  return outcome;
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
  const bool saved = backend_->save(next, error) == StateBackend::SaveResult::Saved;
  history_ = std::move(next);
  return saved;
}

void ControlService::adopt(RoutingHistory history) {
  {
    std::lock_guard lock(mutex_);
    // Revision numbers grow with every write to the shared store and each is written once, so a lower
    // or equal one is a late event of what we already hold (or built on).
    if (history.current().revision <= history_.current().revision) return;
    history_ = std::move(history);
  }
  if (on_change_) on_change_(current());
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
