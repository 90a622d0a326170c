// The served share of GET /api/status (contract section 7): the percent of the last minute's requests
// that each set actually served. The main thread samples the workers' cumulative per-set request
// counters every 5 s; this class keeps the last 12 five-second deltas and sums them. Pure: the caller
// passes the time, so the unit tests drive it with a fake clock.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace canaryd::weights {

/// Requests served per set: cumulative totals (a sample) or a window's sum. `none`: answered without a
/// set (no endpoint anywhere); they count in the total, so neither set is credited with them.
struct SetCounts {
  std::uint64_t stable = 0;
  std::uint64_t canary = 0;
  std::uint64_t none = 0;
  std::uint64_t total() const { return stable + canary + none; }
};

/// What status shows: each set's share in percent (0-100, one decimal), null (nullopt) when the window
/// saw no request, and the window's request counts behind them.
struct ServedNumbers {
  std::optional<double> stable;
  std::optional<double> canary;
  SetCounts requests;
};

/// A sliding one-minute window over cumulative per-set counters, sampled every kInterval.
class ServedShare {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kInterval{5};
  static constexpr std::chrono::seconds kWindow{60};
  static constexpr std::size_t kSlots = 12;  ///< kWindow / kInterval

  /// Records the cumulative totals read at `now`; the delta since the previous sample (the first
  /// sample's since zero) fills the oldest slot. A counter that went down (new workers) counts from zero.
  void sample(Clock::time_point now, SetCounts totals);

  /// The shares over the deltas of the window ending at the last sample: slots older than kWindow
  /// (a late timer) are left out.
  ServedNumbers numbers() const;

  /// A percent of `part` in `total`, rounded to one decimal; nullopt when total is 0.
  static std::optional<double> percent(std::uint64_t part, std::uint64_t total);

 private:
  struct Slot {
    Clock::time_point at{};
    SetCounts delta;
    bool used = false;
  };
  std::array<Slot, kSlots> ring_{};
  std::size_t next_ = 0;
  SetCounts last_;
  Clock::time_point latest_{};
};

}  // namespace canaryd::weights
