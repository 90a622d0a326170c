#pragma once

#include <cstdint>
#include <deque>

#include "weights/routing_state.hpp"

namespace canaryd::weights {

/// The revisions kept, oldest first; back() is the state in force. Bounded by history_limit
/// (at least 1). Main thread only.
class RoutingHistory {
 public:
  RoutingHistory(RoutingState initial, unsigned limit);

  const RoutingState& current() const { return revisions_.back(); }
  const std::deque<RoutingState>& revisions() const { return revisions_; }
  unsigned limit() const { return limit_; }

  /// Appends a new current state and drops the oldest beyond the limit.
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
};

}  // namespace canaryd::weights
