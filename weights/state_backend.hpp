// The interface of durable routing-state storage (a file, or a ConfigMap shared by replicas) with
// conditional saves, and FileStateBackend, the state file behind it.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "config/result.hpp"
#include "weights/routing_history.hpp"

namespace canaryd::weights {

/// What a load found: the stored history, or nullopt when nothing is stored yet (a first start: the next
/// save creates it). The error names the store and says what is wrong: unreadable, torn or invalid.
using LoadedState = Result<std::optional<RoutingHistory>>;

/// Why a save did not store the history; either way the stored history is as it was.
struct SaveError {
  enum class Kind {
    Conflict,  ///< another writer got in first: load() returns the newer history
    Failed,    ///< the store could not be written
  };
  Kind kind = Kind::Failed;
  std::string message;  ///< for Failed: what went wrong; for Conflict: may be empty
};
using SaveResult = Result<void, SaveError>;

/// Where the routing history is kept durably: a file, or a ConfigMap shared by replicas. A save is
/// conditional on what the backend last read or wrote: when another writer got in between, it answers
/// Conflict and load() returns the newer history (optimistic concurrency, as Kubernetes does it).
class StateBackend {
 public:
  virtual ~StateBackend() = default;

  using SaveDone = std::function<void(SaveResult)>;
  using LoadDone = std::function<void(LoadedState)>;

  /// Stores `h` durably; an error leaves the stored history as it was. Blocks: for start-up, before the
  /// event loop runs.
  virtual SaveResult save(const RoutingHistory& h) = 0;
  /// The stored history now. Blocks, as save() does.
  virtual LoadedState load(unsigned limit) = 0;

  /// save() without blocking the event loop: `done` runs exactly once, on the loop's thread, perhaps
  /// before this returns. `h` stays alive and unchanged until then, so a backend may read it from
  /// another thread meanwhile. This default blocks while it writes; a backend that waits on the network
  /// or on the disk overrides both.
  virtual void async_save(const RoutingHistory& h, SaveDone done) { done(save(h)); }
  virtual void async_load(unsigned limit, LoadDone done) { done(load(limit)); }
};

}  // namespace canaryd::weights
