// The clock, the sleep and the terminal of canaryctl's repeating commands (status --watch, rollout
// status --watch, wait): an interface so that tests run them with a fake clock and a bounded number of
// rounds.
#pragma once

#include <chrono>

namespace canaryd::ctl {

class Pacer {
 public:
  virtual ~Pacer() = default;
  /// For deadlines (--timeout).
  virtual std::chrono::steady_clock::time_point now() = 0;
  /// For what is shown: the frame's time, a pause's time left.
  virtual std::chrono::system_clock::time_point wall_now() = 0;
  virtual void sleep_for(std::chrono::milliseconds d) = 0;
  /// False once a watch should stop by itself (tests); the real one watches until interrupted.
  virtual bool keep_watching() { return true; }
  /// True on a terminal: each frame is drawn over the previous one instead of below it.
  virtual bool redraws_in_place() const { return false; }
};

/// The real clocks and sleep.
class RealPacer final : public Pacer {
 public:
  explicit RealPacer(bool terminal = false) : terminal_(terminal) {}
  std::chrono::steady_clock::time_point now() override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wall_now() override { return std::chrono::system_clock::now(); }
  void sleep_for(std::chrono::milliseconds d) override;
  bool redraws_in_place() const override { return terminal_; }

 private:
  bool terminal_;
};

}  // namespace canaryd::ctl
