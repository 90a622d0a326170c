// The routing history: the revisions kept (the last one in force), bounded by history_limit and by their
// size as JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include "weights/routing_state.hpp"

namespace canaryd::weights {

/// The most the kept revisions may take as JSON (revision_json.hpp, with the commas between them). The
/// state document around them adds under 100 bytes, so what canaryd writes stays far below its loader's
/// bound, and within a ConfigMap's 1 MiB even if every byte needed escaping inside the ConfigMap's own
/// JSON. history_limit 1000 with causes of 1 KiB would not fit: the oldest revisions give way first.
inline constexpr std::size_t kMaxHistoryBytes = 480 * 1024;

/// The revisions kept, oldest first; back() is the state in force. Bounded by history_limit (at least
/// 1) and by kMaxHistoryBytes: beyond either the oldest are dropped, never the current one, and a
/// change is never refused for the history's size. Main thread only.
class RoutingHistory {
 public:
  RoutingHistory(RoutingState initial, unsigned limit);

  const RoutingState& current() const { return revisions_.back(); }
  const std::deque<RoutingState>& revisions() const { return revisions_; }
  unsigned limit() const { return limit_; }
  /// What the revisions take as JSON, commas between them included.
  std::size_t json_bytes() const { return bytes_; }

  /// Appends a new current state and drops the oldest beyond the bounds.
  void push(RoutingState next);
  /// Changes the bound (a reload); trims at once.
  void set_limit(unsigned limit);

  /// The revision with that number, or nullptr when it is not kept.
  const RoutingState* find(std::uint64_t revision) const;
  /// The revision before the current one, or nullptr when there is none.
  const RoutingState* previous() const;

  bool operator==(const RoutingHistory&) const = default;

 private:
  void trim();
  std::deque<RoutingState> revisions_;
  unsigned limit_;
  std::size_t bytes_ = 0;
};

}  // namespace canaryd::weights
