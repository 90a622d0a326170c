// The routing history in a local file: the state file's JSON format, and StateStore, which reads it and
// replaces it atomically.
#pragma once

#include <optional>
#include <string>

#include "config/result.hpp"
#include "weights/routing_history.hpp"
#include "weights/state_backend.hpp"

namespace canaryd::weights {

/// The routing history as JSON (the state file's format).
std::string history_to_json(const RoutingHistory& h);
/// Parses history_to_json's output; an error on anything torn, corrupt or inconsistent.
Result<RoutingHistory> history_from_json(const std::string& text, unsigned limit);

/// Durable storage of the routing history in one file. Any one thread at a time: the main thread at
/// start-up, ThreadedFileBackend's afterwards.
class StateStore {
 public:
  explicit StateStore(std::string path) : path_(std::move(path)) {}

  /// Draws the suffix of a temporary file's name (".tmp.<pid>.<random>"). Tests replace it to make a
  /// planted name come up.
  using SuffixSource = std::string (*)();
  StateStore(std::string path, SuffixSource suffixes) : path_(std::move(path)), suffixes_(suffixes) {}

  /// Reads the file: nullopt when it does not exist, an error (naming the file) when it is unreadable or
  /// invalid.
  LoadedState load(unsigned limit) const;

  /// Writes a temporary file beside it (created exclusively, mode 0600, under an unpredictable name),
  /// fsyncs it, renames it over the file and fsyncs the directory. On failure the error names the file
  /// and the step, and the old file is untouched.
  Result<void> save(const RoutingHistory& h) const;

  /// Removes temporary files of earlier saves whose process no longer runs (a kill -9 between create and
  /// rename leaves one behind). A live process's temporary file is left alone: two canaryd may share a
  /// state file during a restart. Only regular files are removed, never a symlink. Returns how many
  /// were removed.
  std::size_t remove_stale_temporaries() const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  SuffixSource suffixes_ = nullptr;  ///< nullptr: random suffixes
};

/// The state file: one writer, so a save never conflicts.
class FileStateBackend : public StateBackend {
 public:
  explicit FileStateBackend(StateStore store) : store_(std::move(store)) {}
  SaveResult save(const RoutingHistory& h) override;
  LoadedState load(unsigned limit) override { return store_.load(limit); }

 private:
  StateStore store_;
};

}  // namespace canaryd::weights
