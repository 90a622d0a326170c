// Where routing changes are applied: ControlService owns the routing history, runs each transition in turn,
// stores the result through a StateBackend and publishes it only once stored. Also the view of the service
// (selector, endpoints, health) that transitions and the API read.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config/labels.hpp"
#include "config/result.hpp"
#include "config/selector.hpp"
#include "weights/routing_history.hpp"
#include "weights/served_share.hpp"
#include "weights/state_backend.hpp"
#include "weights/state_store.hpp"
#include "weights/transitions.hpp"

namespace canaryd::weights {

/// One endpoint as the control API shows it.
struct EndpointStatus {
  std::string address;
  config::Labels labels;
  bool healthy = true;
  std::string pod;  ///< the pod's name when found by Kubernetes discovery
};

/// What the proxy knows now about the service: its selector and every endpoint with its health.
struct ServiceView {
  config::Selector service_selector;
  std::vector<EndpointStatus> endpoints;
  ServedNumbers served;  ///< the last minute's share per set (status' "served"); empty = no request yet
};

/// What a transition may look at, taken from the service as it is now.
TransitionContext transition_context(const ServiceView& view, std::string cause, Clock::time_point now);

/// Owns the routing history and applies changes durably: a transition is computed, the new history is
/// written to the backend, and only once the backend confirmed the write does it become current and
/// `on_change` run. A write may take a while (a ConfigMap on a slow API server, an fsync) and never blocks
/// the thread: changes that arrive meanwhile wait, and when the write is done they go together as one
/// batch, computed in order on the history in force (each on the one before), and written at once. So
/// changes never build on the same revision, a burst costs one write rather than one each, and every
/// change is answered only after the write that holds it. When another replica wrote first (a Conflict),
/// the newer history is read and the batch computed again on it, so a change is refused only when it no
/// longer applies. Reads answer at once from the history in force, which is only ever what is stored.
/// One thread only: the main thread's event loop, where the backend's completions run.
class ControlService {
 public:
  ControlService(RoutingHistory history, StateStore store);
  ControlService(RoutingHistory history, std::unique_ptr<StateBackend> backend);

  /// Writes in a row that may conflict before a change gives up (Contended).
  static constexpr int kMaxConflicts = 16;

  using Transition = std::function<TransitionResult(const RoutingHistory&)>;
  /// The new current state, or why there is none.
  using ApplyResult = TransitionResult;
  using ApplyDone = std::function<void(ApplyResult)>;

  /// Queues `transition`; when its batch starts it runs on the history as the changes before it left it,
  /// and on success the batch is persisted, then published, then each result passed to its `done`, in
  /// order. A storage failure is a TransitionError of kind StorageFailed (Contended after kMaxConflicts
  /// conflicts) and nothing changed; it is the answer of every change of the batch whose answer rests on
  /// that write (the first that changed something and all after it). A transition that changes nothing
  /// (it returns the state it was given, same revision) is answered with that state. `done` may run
  /// before apply returns (a backend that completes at once).
  void apply(Transition transition, ApplyDone done);

  /// Whether the trimmed history was stored, and why not.
  using LimitDone = std::function<void(Result<void> saved)>;
  /// Changes the history bound (reload), in turn with the changes queued before it, and persists when
  /// that trimmed anything. The new bound is kept even when the write fails: the store then merely holds
  /// older revisions, which the next load trims. `done` (optional) reports the write.
  void set_history_limit(unsigned limit, LimitDone done = {});

  /// Another replica's history, as the shared store now holds it (a watch saw it): it becomes current
  /// and `on_change` runs when its revision is newer than ours (an older one is a late event). A change
  /// waiting on its write then conflicts and is computed again on this history.
  void adopt(RoutingHistory history);

  const RoutingHistory& history() const { return history_; }
  const RoutingState& current() const { return history_.current(); }
  /// Changes and bound changes not answered yet, those waiting on the backend included.
  std::size_t pending() const { return queue_.size() + batch_.size(); }
  /// Writes started so far (a change's write, or a trimmed history's).
  std::uint64_t writes() const { return writes_; }
  /// Runs `cb` once nothing is queued: at once when the queue is empty, else after the last queued change
  /// was answered (a hot upgrade hands the state over only when no write is under way).
  void when_idle(std::function<void()> cb);

  /// Called once for every batch that changed the state in force, when it became so, before the batch's
  /// `done`s.
  void set_on_change(std::function<void(const RoutingState&)> cb) { on_change_ = std::move(cb); }

 private:
  struct Change {
    Transition transition;
    ApplyDone done;
  };
  struct NewLimit {
    unsigned limit;
    LimitDone done;
  };

  void pump();
  void start_batch();
  void compute_batch();
  void batch_saved(SaveResult result);
  void reloaded(LoadedState fresh);
  /// Answers the batch: with its results when `failure` is empty, else with `failure` from the change
  /// the write was first needed for on.
  void finish_batch(bool publish, std::optional<TransitionError> failure = std::nullopt);
  void start(const NewLimit& bound);
  void finish_limit(Result<void> saved);

  RoutingHistory history_;
  std::unique_ptr<StateBackend> backend_;
  std::function<void(const RoutingState&)> on_change_;
  std::deque<std::variant<Change, NewLimit>> queue_;  ///< waiting for the write under way
  std::vector<std::function<void()>> idle_waiters_;

  // The batch under way: its changes, what each came to, and the history being written (kept alive until
  // the backend answers: it may read it from another thread meanwhile).
  std::vector<Change> batch_;
  std::vector<ApplyResult> results_;
  std::size_t first_written_ = 0;  ///< results_ from here on rest on the write
  std::optional<RoutingHistory> writing_;
  int conflicts_ = 0;
  bool reread_ = false;  ///< a newer history was read on the way: it is published even if the batch fails

  std::uint64_t writes_ = 0;
  bool waiting_ = false;  ///< a write (or a re-read after a conflict) is under way
  bool pumping_ = false;  ///< pump() is on the stack: a completion that ran at once must not re-enter it
};

}  // namespace canaryd::weights
