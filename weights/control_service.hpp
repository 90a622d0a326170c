// Where routing changes are applied: ControlService owns the routing history, runs each transition in turn,
// stores the result through a StateBackend and publishes it only once stored. Also the view of the service
// (selector, endpoints, health) that transitions and the API read.
#pragma once

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
/// `on_change` run. A write may take a while (a ConfigMap on a slow API server) and never blocks the
/// thread: changes wait their turn in a FIFO, and each is computed on the history as it is when its turn
/// comes, so two changes never build on the same revision. When another replica wrote first (a
/// Conflict), the newer history is read and the transition computed again on it, so a change is refused
/// only when it no longer applies. Reads answer at once from the history in force, whatever is pending.
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

  /// Queues `transition`; when its turn comes it runs on the current history, and on success the result
  /// is persisted, then published, then passed to `done`. A storage failure is a TransitionError of kind
  /// StorageFailed (Contended after kMaxConflicts conflicts) and nothing changed. A transition that changes nothing (it returns the current state,
  /// same revision) is answered with the current state: nothing is written or published. `done` may run
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
  /// Changes and bound changes queued, the one waiting on the backend included.
  std::size_t pending() const { return queue_.size(); }
  /// Runs `cb` once nothing is queued: at once when the queue is empty, else after the last queued change
  /// was answered (a hot upgrade hands the state over only when no write is under way).
  void when_idle(std::function<void()> cb);

  /// Called after every applied change, before the change's `done`.
  void set_on_change(std::function<void(const RoutingState&)> cb) { on_change_ = std::move(cb); }

 private:
  struct Change {
    Transition transition;
    ApplyDone done;
    int conflicts = 0;
    bool reread = false;  ///< a newer history was read on the way: it is published even if the change fails
  };
  struct NewLimit {
    unsigned limit;
    LimitDone done;
  };

  void pump();
  void start(Change& change);
  void start(const NewLimit& bound);
  void saved(RoutingHistory next, SaveResult result);
  void reloaded(LoadedState fresh);
  void finish(ApplyResult result, bool publish);
  void finish_limit(Result<void> saved);

  RoutingHistory history_;
  std::unique_ptr<StateBackend> backend_;
  std::function<void(const RoutingState&)> on_change_;
  std::deque<std::variant<Change, NewLimit>> queue_;  ///< front() is the one running
  std::vector<std::function<void()>> idle_waiters_;
  bool waiting_ = false;  ///< front() waits on the backend
  bool pumping_ = false;  ///< pump() is on the stack: a completion that ran at once must not re-enter it
};

}  // namespace canaryd::weights
