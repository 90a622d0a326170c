// WakeSignal: one coroutine waits until another piece of the same worker thread says something changed.
// A notice given while nobody waits is kept for the next wait, so none is lost.
#pragma once

#include <chrono>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "proxy/net/no_throw.hpp"

namespace canaryd::proxy {

/// A level-triggered wake-up for one waiter on one thread: a timer that never expires and is
/// cancelled to wake.
class WakeSignal {
 public:
  explicit WakeSignal(const boost::asio::any_io_executor& executor)
      : timer_(executor, std::chrono::steady_clock::time_point::max()) {}

  void notify() {
    set_ = true;
    timer_.cancel();
  }
  /// Returns at once when a notice came since the last wait.
  boost::asio::awaitable<void> wait() {
    if (!set_) co_await timer_.async_wait(kNoThrow);
    set_ = false;
  }
  /// Like wait(), but gives up at `deadline`: false when it passed without a notice.
  boost::asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point deadline) {
    if (!set_) {
      timer_.expires_at(deadline);
      co_await timer_.async_wait(kNoThrow);
      timer_.expires_at(std::chrono::steady_clock::time_point::max());
    }
    const bool notified = set_;
    set_ = false;
    co_return notified;
  }

 private:
  boost::asio::steady_timer timer_;
  bool set_ = false;
};

}  // namespace canaryd::proxy
