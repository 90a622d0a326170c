#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/labels.hpp"
#include "config/selector.hpp"
#include "weights/routing_history.hpp"
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
};

/// Owns the routing history and applies changes durably: a transition is computed, the new history is
/// written to the backend, and only then it becomes current and `on_change` runs. Calls are serialised
/// by a mutex, so two racing changes never lose a revision; when another replica wrote first (a
/// Conflict), the newer history is read and the transition is computed again on it, so a change is
/// refused only when it no longer applies. Main thread (control server) only in practice.
class ControlService {
 public:
  ControlService(RoutingHistory history, StateStore store);
  ControlService(RoutingHistory history, std::unique_ptr<StateBackend> backend);

  /// Writes in a row that may conflict before a change gives up (503).
  static constexpr int kMaxConflicts = 16;

  /// Successful result of apply: the new current state.
  using ApplyResult = TransitionResult;

  /// Runs `transition` on the current history; on success persists and then publishes. A storage
  /// failure is a TransitionError with status 500 and nothing changed.
  ApplyResult apply(const std::function<TransitionResult(const RoutingHistory&)>& transition);

  /// Changes the history bound (reload) and persists when that trimmed anything.
  void set_history_limit(unsigned limit);
  /// As above, and reports a failed write (the new bound is kept in memory either way: the file then
  /// merely holds older revisions, which the next load trims). Main thread.
  bool set_history_limit(unsigned limit, std::string& error);

  /// Another replica's history, as the shared store now holds it (a watch saw it): it becomes current
  /// and `on_change` runs when its revision is newer than ours (an older one is a late event). Main thread.
  void adopt(RoutingHistory history);

  RoutingHistory history() const;
  RoutingState current() const;

  /// Called after every applied change, with the lock released.
  void set_on_change(std::function<void(const RoutingState&)> cb) { on_change_ = std::move(cb); }

 private:
  mutable std::mutex mutex_;
  RoutingHistory history_;
  std::unique_ptr<StateBackend> backend_;
  std::function<void(const RoutingState&)> on_change_;
};

}  // namespace canaryd::weights
