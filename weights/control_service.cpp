// ControlService's queue of changes (see control_service.hpp): one write at a time, conflicts re-read and
// recomputed, a failed write leaving the history as it was.
#include "weights/control_service.hpp"

namespace canaryd::weights {

TransitionContext transition_context(const ServiceView& view, std::string cause, Clock::time_point now) {
  TransitionContext ctx;
  ctx.service_selector = view.service_selector;
  ctx.endpoint_labels.reserve(view.endpoints.size());
  ctx.endpoint_healthy.reserve(view.endpoints.size());
  for (const auto& ep : view.endpoints) {
    ctx.endpoint_labels.push_back(ep.labels);
    ctx.endpoint_healthy.push_back(ep.healthy);
  }
  ctx.cause = std::move(cause);
  ctx.now = now;
  ctx.fresh_salt = random_affinity_salt();
  return ctx;
}

ControlService::ControlService(RoutingHistory history, StateStore store)
    : ControlService(std::move(history), std::make_unique<FileStateBackend>(std::move(store))) {}

ControlService::ControlService(RoutingHistory history, std::unique_ptr<StateBackend> backend)
    : history_(std::move(history)), backend_(std::move(backend)) {}

void ControlService::apply(Transition transition, ApplyDone done) {
  queue_.emplace_back(Change{std::move(transition), std::move(done)});
  pump();
}

void ControlService::set_history_limit(unsigned limit, LimitDone done) {
  queue_.emplace_back(NewLimit{limit, std::move(done)});
  pump();
}

void ControlService::pump() {
  // A backend may complete inside async_save; its completion then calls pump() again, which must leave
  // the next operation to this loop rather than recurse once per queued change.
  if (pumping_) return;
  pumping_ = true;
  while (!waiting_ && !queue_.empty()) {
    if (auto* change = std::get_if<Change>(&queue_.front())) {
      start(*change);
    } else {
      start(std::get<NewLimit>(queue_.front()));
    }
  }
  pumping_ = false;
  if (queue_.empty() && !idle_waiters_.empty()) {
    auto waiters = std::move(idle_waiters_);
    idle_waiters_.clear();
    for (auto& cb : waiters) cb();
  }
}

void ControlService::when_idle(std::function<void()> cb) {
  if (queue_.empty()) return cb();
  idle_waiters_.push_back(std::move(cb));
}

void ControlService::start(Change& change) {
  TransitionResult result = change.transition(history_);
  if (!result) return finish(std::move(result), change.reread);
  RoutingState& state = *result;
  // A transition that changes nothing keeps the revision: there is nothing to write or to publish.
  if (state.revision <= history_.current().revision) return finish(history_.current(), change.reread);
  // The change exists only once it is stored: a copy is written, and a failed write leaves the history in
  // force exactly as it was (contract: "if that fails the answer is 500 and nothing changed").
  RoutingHistory next = history_;
  next.push(std::move(state));
  waiting_ = true;
  // `change` may be gone once this returns (the completion may run inside): nothing may follow.
  backend_->async_save(next, [this, next](SaveResult saved_as) mutable {
    saved(std::move(next), std::move(saved_as));
  });
}

void ControlService::saved(RoutingHistory next, SaveResult result) {
  Change& change = std::get<Change>(queue_.front());
  if (result) {
    RoutingState applied = next.current();
    bool publish = change.reread;
    // The watch may have delivered this write, or a later one built on it, before the answer came.
    if (applied.revision > history_.current().revision) {
      history_ = std::move(next);
      publish = true;
    }
    return finish(std::move(applied), publish);
  }
  if (result.error().kind == SaveError::Kind::Failed) {
    return finish(fail(TransitionError{TransitionError::Kind::StorageFailed,
                                       "cannot persist state: " + result.error().message}),
                  change.reread);
  }
  // Someone else wrote first: read what they wrote, and see whether the change still applies.
  ++change.conflicts;
  backend_->async_load(history_.limit(), [this](LoadedState fresh) { reloaded(std::move(fresh)); });
}

void ControlService::reloaded(LoadedState fresh) {
  Change& change = std::get<Change>(queue_.front());
  if (!fresh) {
    return finish(fail(TransitionError{TransitionError::Kind::StorageFailed,
                                       "cannot re-read the state after a conflict: " + fresh.error().message}),
                  change.reread);
  }
  // Nothing stored: the shared store was deleted meanwhile; the next write creates it again from ours. A
  // history older than ours is a read that a watch event overtook: ours is the newer one.
  if (*fresh && (*fresh)->current().revision > history_.current().revision) {
    history_ = std::move(**fresh);
    change.reread = true;
  }
  if (change.conflicts >= kMaxConflicts) {
    return finish(fail(TransitionError{TransitionError::Kind::Contended, "the shared state kept changing; try again"}),
                  change.reread);
  }
  waiting_ = false;
  pump();
}

void ControlService::finish(ApplyResult result, bool publish) {
  Change change = std::move(std::get<Change>(queue_.front()));
  queue_.pop_front();
  waiting_ = false;
  if (publish && on_change_) on_change_(history_.current());
  if (change.done) change.done(std::move(result));
  pump();
}

void ControlService::start(const NewLimit& bound) {
  RoutingHistory next = history_;
  next.set_limit(bound.limit);
  const bool trimmed = next.revisions().size() != history_.revisions().size();
  // Keep the new bound even when the write fails: the store then merely holds older revisions, which the
  // next load trims with the configured limit anyway. Refusing would leave a reload half applied.
  history_ = std::move(next);
  if (!trimmed) return finish_limit({});
  waiting_ = true;
  backend_->async_save(history_, [this](SaveResult result) {
    if (result) return finish_limit({});
    const bool conflict = result.error().kind == SaveError::Kind::Conflict;
    finish_limit(fail(conflict ? std::string("another replica wrote first") : std::move(result).error().message));
  });
}

void ControlService::finish_limit(Result<void> saved) {
  NewLimit bound = std::move(std::get<NewLimit>(queue_.front()));
  queue_.pop_front();
  waiting_ = false;
  if (bound.done) bound.done(std::move(saved));
  pump();
}

void ControlService::adopt(RoutingHistory history) {
  // Revision numbers grow with every write to the shared store and each is written once, so a lower or
  // equal one is a late event of what we already hold (or built on).
  if (history.current().revision <= history_.current().revision) return;
  history_ = std::move(history);
  if (on_change_) on_change_(history_.current());
}

}  // namespace canaryd::weights
