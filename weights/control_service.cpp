// ControlService's queue of changes (see control_service.hpp): one write at a time, the changes that
// arrived meanwhile written together as the next, conflicts re-read and recomputed, a failed write leaving
// the history as it was.
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
    if (std::holds_alternative<Change>(queue_.front())) {
      start_batch();
    } else {
      start(std::get<NewLimit>(queue_.front()));
    }
  }
  pumping_ = false;
  if (queue_.empty() && batch_.empty() && !idle_waiters_.empty()) {
    auto waiters = std::move(idle_waiters_);
    idle_waiters_.clear();
    for (auto& cb : waiters) cb();
  }
}

void ControlService::when_idle(std::function<void()> cb) {
  if (queue_.empty() && batch_.empty()) return cb();
  idle_waiters_.push_back(std::move(cb));
}

void ControlService::start_batch() {
  // Every change queued up to the next bound change: they arrived while the last write was under way, and
  // one write now carries them all.
  while (!queue_.empty() && std::holds_alternative<Change>(queue_.front())) {
    batch_.push_back(std::move(std::get<Change>(queue_.front())));
    queue_.pop_front();
  }
  conflicts_ = 0;
  reread_ = false;
  compute_batch();
}

void ControlService::compute_batch() {
  results_.clear();
  results_.reserve(batch_.size());
  writing_.reset();
  first_written_ = batch_.size();
  for (Change& change : batch_) {
    // Each change sees the history as the changes before it in the batch left it, as if one at a time.
    const RoutingHistory& base = writing_ ? *writing_ : history_;
    TransitionResult result = change.transition(base);
    if (result && result->revision > base.current().revision) {
      // The change exists only once it is stored: a copy is written, and a failed write leaves the history
      // in force exactly as it was (contract: "if that fails the answer is 500 and nothing changed").
      if (!writing_) {
        writing_.emplace(history_);
        first_written_ = results_.size();
      }
      writing_->push(*result);
    } else if (result) {
      // A transition that changes nothing keeps the revision: nothing to write for it.
      result = base.current();
    }
    results_.push_back(std::move(result));
  }
  if (!writing_) return finish_batch(reread_);
  waiting_ = true;
  ++writes_;
  // The batch may be answered before this returns (a backend that completes at once): nothing may follow.
  backend_->async_save(*writing_, [this](SaveResult saved_as) { batch_saved(std::move(saved_as)); });
}

void ControlService::batch_saved(SaveResult result) {
  if (result) {
    bool publish = reread_;
    // The watch may have delivered this write, or a later one built on it, before the answer came.
    if (writing_->current().revision > history_.current().revision) {
      history_ = std::move(*writing_);
      publish = true;
    }
    return finish_batch(publish);
  }
  if (result.error().kind == SaveError::Kind::Failed) {
    return finish_batch(reread_, TransitionError{TransitionError::Kind::StorageFailed,
                                                 "cannot persist state: " + result.error().message});
  }
  // Someone else wrote first: read what they wrote, and see whether the changes still apply.
  ++conflicts_;
  backend_->async_load(history_.limit(), [this](LoadedState fresh) { reloaded(std::move(fresh)); });
}

void ControlService::reloaded(LoadedState fresh) {
  if (!fresh) {
    return finish_batch(reread_, TransitionError{TransitionError::Kind::StorageFailed,
                                                 "cannot re-read the state after a conflict: " + fresh.error().message});
  }
  // Nothing stored: the shared store was deleted meanwhile; the next write creates it again from ours. A
  // history older than ours is a read that a watch event overtook: ours is the newer one.
  if (*fresh && (*fresh)->current().revision > history_.current().revision) {
    history_ = std::move(**fresh);
    reread_ = true;
  }
  if (conflicts_ >= kMaxConflicts) {
    return finish_batch(reread_, TransitionError{TransitionError::Kind::Contended, "the shared state kept changing; try again"});
  }
  waiting_ = false;
  compute_batch();
}

void ControlService::finish_batch(bool publish, std::optional<TransitionError> failure) {
  std::vector<Change> batch = std::move(batch_);
  std::vector<ApplyResult> results = std::move(results_);
  batch_.clear();
  results_.clear();
  writing_.reset();
  waiting_ = false;
  // What was computed on the history the failed write would have made current is not so: refusals and
  // no-ops before the first change that needed the write stand, everything from it on fails with it.
  if (failure) {
    for (std::size_t i = first_written_; i < results.size(); ++i) results[i] = fail(*failure);
  }
  if (publish && on_change_) on_change_(history_.current());
  // A change queued by one of these answers waits for the rest of them: answers go out in order.
  const bool outer = pumping_;
  pumping_ = true;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].done) batch[i].done(std::move(results[i]));
  }
  pumping_ = outer;
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
  ++writes_;
  writing_.emplace(history_);  // unchanged until the backend answers, whatever a watch adopts meanwhile
  backend_->async_save(*writing_, [this](SaveResult result) {
    if (result) return finish_limit({});
    const bool conflict = result.error().kind == SaveError::Kind::Conflict;
    finish_limit(fail(conflict ? std::string("another replica wrote first") : std::move(result).error().message));
  });
}

void ControlService::finish_limit(Result<void> saved) {
  NewLimit bound = std::move(std::get<NewLimit>(queue_.front()));
  queue_.pop_front();
  writing_.reset();
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
