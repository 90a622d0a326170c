// Which control-port connections to close so that a new one fits: the bookkeeping behind "nobody can
// lock the control port". Pure state, no I/O, so that the choice is unit-tested on its own.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace canaryd::proxy {

/// The open control connections, where each one is in its request, and whom to evict. A new
/// connection is never refused while an older one could make room: when its source address already
/// holds `per_source` connections, that source's longest-waiting one goes; when the port holds `total`,
/// the longest-waiting one of any source goes. A connection whose request is being handled is never
/// chosen.
class ControlConnections {
 public:
  using Clock = std::chrono::steady_clock;
  using Id = std::uint64_t;

  enum class Phase : std::uint8_t {
    Idle,      ///< no byte of a request yet (new, or between requests): the first to go
    Reading,   ///< a request head or body is arriving
    Handling,  ///< the request is with the handler or its answer is being written: never evicted
  };

  struct Limits {
    std::size_t per_source;
    std::size_t total;
  };

  explicit ControlConnections(Limits limits) : limits_(limits) {}

  /// Registers connection `id` from `source` as Idle. Returns the connections to close to make room,
  /// already forgotten here; nullopt when none can be evicted: then the new one is refused and not
  /// registered.
  std::optional<std::vector<Id>> admit(Id id, const boost::asio::ip::address& source, Clock::time_point now);
  /// Moves `id` to `phase`; the time counts as the start of that phase (for "longest waiting").
  void set_phase(Id id, Phase phase, Clock::time_point now);
  /// Forgets `id` (a no-op for an evicted or unknown one).
  void remove(Id id);
  /// The connections that are Idle now.
  std::vector<Id> idle() const;
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Id id;
    boost::asio::ip::address source;
    Phase phase;
    Clock::time_point since;
  };
  /// The entry to evict among those `eligible` accepts: Idle before Reading, then the oldest `since`.
  template <typename Eligible>
  std::optional<std::size_t> victim(Eligible eligible) const;

  Limits limits_;
  std::vector<Entry> entries_;  // a few hundred at most: a scan is cheaper than an index to keep
};

}  // namespace canaryd::proxy
