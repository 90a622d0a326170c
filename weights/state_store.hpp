// The routing history in a local file: the state file's JSON format, and StateStore, which reads it and
// replaces it atomically.
#pragma once

#include <optional>
#include <string>

#include "weights/routing_history.hpp"

namespace canaryd::weights {

/// The routing history as JSON (the state file's format).
std::string history_to_json(const RoutingHistory& h);
/// Parses history_to_json's output; nullopt and `error` on anything torn, corrupt or inconsistent.
std::optional<RoutingHistory> history_from_json(const std::string& text, unsigned limit, std::string& error);

/// Durable storage of the routing history in one file. Main thread only.
class StateStore {
 public:
  explicit StateStore(std::string path) : path_(std::move(path)) {}

  /// Draws the suffix of a temporary file's name (".tmp.<pid>.<random>"). Tests replace it to make a
  /// planted name come up.
  using SuffixSource = std::string (*)();
  StateStore(std::string path, SuffixSource suffixes) : path_(std::move(path)), suffixes_(suffixes) {}

  struct Loaded {
    enum class Kind { Missing, Ok, Corrupt } kind = Kind::Missing;
    std::optional<RoutingHistory> history;
    std::string error;  ///< for Corrupt: what is wrong, naming the file
  };
  /// Reads the file: Missing when it does not exist, Corrupt when unreadable or invalid.
  Loaded load(unsigned limit) const;

  /// Writes a temporary file beside it (created exclusively, mode 0600, under an unpredictable name),
  /// fsyncs it, renames it over the file and fsyncs the directory. On failure returns false with
  /// `error` set, and the old file is untouched.
  bool save(const RoutingHistory& h, std::string& error) const;

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

}  // namespace canaryd::weights
