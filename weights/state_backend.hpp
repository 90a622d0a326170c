#pragma once

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
  /// Stores `h` durably; Failed (with `error`) leaves the stored history as it was.
  virtual SaveResult save(const RoutingHistory& h, std::string& error) = 0;
  /// The stored history now.
  virtual StateStore::Loaded load(unsigned limit) = 0;
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
