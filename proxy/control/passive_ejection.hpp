// Passive health: which endpoints are ejected after failure streaks the workers report, for how long, and
// never more than a set's allowed share.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace canaryd::proxy {

/// Passive health (outlier ejection): an endpoint whose requests failed `health.unhealthy_threshold`
/// times in a row on one worker (connect failures, resets, timeouts, 5xx answers) is taken out of its
/// set for a while, and each ejection that follows soon after the last one lasts twice as long, up to
/// kMaxEjection. At most `max_ejected_percent` of a set is ejected at once, so that a failure of the
/// whole set (or of our own network) never empties it this way. Pure and time-injected; main thread.
class PassiveEjection {
 public:
  using Clock = std::chrono::steady_clock;

  static constexpr std::chrono::milliseconds kMaxEjection{300'000};

  /// `base` is the first ejection's length; `max_ejected_percent` bounds the share of a set.
  void configure(std::chrono::milliseconds base, unsigned max_ejected_percent);

  /// A worker reported a failure streak of `endpoint`, a member of `set` (every endpoint name of its
  /// set, itself included). Returns how long it is now ejected, or nullopt when it stays: already
  /// ejected, or ejecting it would take the set over the share.
  std::optional<std::chrono::milliseconds> report_failures(const std::string& endpoint,
                                                           const std::vector<std::string>& set, Clock::time_point now);

  /// Ends the ejections whose time is up; returns the endpoints that came back.
  std::vector<std::string> expire(Clock::time_point now);

  /// When the next ejection ends, if any is running.
  std::optional<Clock::time_point> next_expiry() const;

  bool ejected(const std::string& endpoint) const;

  /// Forgets endpoints no longer configured (reload).
  void retain(const std::vector<std::string>& endpoints);

 private:
  struct Record {
    std::optional<Clock::time_point> until;  ///< set while ejected
    Clock::time_point returned;              ///< when the last ejection ended
    std::chrono::milliseconds last{0};       ///< length of the last ejection
  };

  std::chrono::milliseconds base_{10'000};
  unsigned max_percent_ = 50;
  std::map<std::string, Record> records_;
};

}  // namespace canaryd::proxy
