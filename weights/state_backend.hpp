// The interface of durable routing-state storage (a file, or a ConfigMap shared by replicas) with
// conditional saves, and FileStateBackend, the state file behind it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "weights/routing_history.hpp"
#include "weights/state_store.hpp"

namespace canaryd::weights {

/// Where the routing history is kept durably: a file, or a ConfigMap shared by replicas. A save is
/// conditional on what the backend last read or wrote: when another writer got in between, it answers
/// Conflict and load() returns the newer history (optimistic concurrency, as Kubernetes does it).
class StateBackend {
 public:
  virtual ~StateBackend() = default;

  enum class SaveResult { Saved, Conflict, Failed };
  /// Failed comes with a message; Saved and Conflict with an empty one.
  using SaveDone = std::function<void(SaveResult, std::string error)>;
  using LoadDone = std::function<void(StateStore::Loaded)>;

  /// Stores `h` durably; Failed (with `error`) leaves the stored history as it was. Blocks: for start-up,
  /// before the event loop runs.
  virtual SaveResult save(const RoutingHistory& h, std::string& error) = 0;
  /// The stored history now. Blocks, as save() does.
  virtual StateStore::Loaded load(unsigned limit) = 0;

  /// save() without blocking the event loop: `done` runs exactly once, on the loop's thread, perhaps
  /// before this returns. This default suits a store whose writes are local and short (a small file,
  /// fsynced); a backend that waits on the network overrides both.
  virtual void async_save(const RoutingHistory& h, SaveDone done) {
    std::string error;
    const SaveResult result = save(h, error);
    done(result, std::move(error));
  }
  virtual void async_load(unsigned limit, LoadDone done) { done(load(limit)); }
};

/// The state file: one writer, so a save never conflicts.
class FileStateBackend : public StateBackend {
 public:
  explicit FileStateBackend(StateStore store) : store_(std::move(store)) {}
  SaveResult save(const RoutingHistory& h, std::string& error) override {
    return store_.save(h, error) ? SaveResult::Saved : SaveResult::Failed;
  }
  StateStore::Loaded load(unsigned limit) override { return store_.load(limit); }

 private:
  StateStore store_;
};

}  // namespace canaryd::weights
