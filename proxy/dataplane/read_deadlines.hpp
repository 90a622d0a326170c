// One timer per worker for the deadlines of reads from upstream connections, instead of one timer per read.
#pragma once

#include <chrono>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace canaryd::proxy {

/// The deadlines of a worker's reads waiting on upstreams. A Beast stream arms and cancels a timer per
/// read (a timer-queue insertion and removal, a cancelled wait completed through the event loop, and a
/// timerfd_settime whenever that deadline is the earliest); here a read only links itself into a list
/// kept in deadline order (with one timeout, appending keeps it ordered), and the worker's one timer is
/// armed for the earliest deadline only when nothing earlier is armed. A read that outlives its deadline
/// has its socket cancelled: it completes with operation_aborted and Watch::expired() tells why.
/// Worker thread only.
class ReadDeadlines {
 public:
  /// `timer` is the worker's, and may be constructed after this (it is declared after the io_context so
  /// that it goes before it, while this goes after the reads the io_context's destruction unwinds).
  explicit ReadDeadlines(boost::asio::steady_timer& timer) : timer_(timer) {}
  ReadDeadlines(const ReadDeadlines&) = delete;
  ReadDeadlines& operator=(const ReadDeadlines&) = delete;

  /// One read's deadline, registered for as long as it lives (put it in the reading coroutine's frame
  /// around the read).
  class Watch {
   public:
    Watch(ReadDeadlines& owner, boost::asio::ip::tcp::socket& socket, std::chrono::milliseconds timeout);
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    /// The deadline passed while the read waited (its socket was cancelled).
    bool expired() const { return expired_; }

   private:
    friend class ReadDeadlines;
    ReadDeadlines& owner_;
    boost::asio::ip::tcp::socket& socket_;
    std::chrono::steady_clock::time_point deadline_;
    Watch* prev_ = nullptr;
    Watch* next_ = nullptr;
    bool linked_ = false;
    bool expired_ = false;
  };

  /// From now on the timer is cancelled whenever no read waits, so that the worker's event loop runs out
  /// of work and ends (drain); until then it stays armed rather than be re-armed per read.
  void stop_when_idle();

  /// Reads waiting now.
  std::size_t waiting() const { return waiting_; }

 private:
  void link(Watch& w);
  void unlink(Watch& w);
  void arm(std::chrono::steady_clock::time_point at);
  void disarm();
  void expire(std::chrono::steady_clock::time_point now);

  boost::asio::steady_timer& timer_;
  Watch* head_ = nullptr;  ///< earliest deadline
  Watch* tail_ = nullptr;
  std::size_t waiting_ = 0;
  bool armed_ = false;
  bool stop_when_idle_ = false;
  std::chrono::steady_clock::time_point armed_at_;
};

}  // namespace canaryd::proxy
