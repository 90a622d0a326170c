// The worker's list of upstream read deadlines and its one timer (see read_deadlines.hpp).
#include "proxy/dataplane/read_deadlines.hpp"

namespace canaryd::proxy {
using std::chrono::steady_clock;

ReadDeadlines::Watch::Watch(ReadDeadlines& owner, boost::asio::ip::tcp::socket& socket,
                            std::chrono::milliseconds timeout)
    : owner_(owner), socket_(socket), deadline_(steady_clock::now() + timeout) {
  owner_.link(*this);
}

ReadDeadlines::Watch::~Watch() {
  if (linked_) owner_.unlink(*this);
}

void ReadDeadlines::link(Watch& w) {
  // From the back: with one timeout the new deadline is the latest, and only a reload that shortened
  // timeouts.upstream walks further.
  Watch* after = tail_;
  while (after && after->deadline_ > w.deadline_) after = after->prev_;
  w.prev_ = after;
  w.next_ = after ? after->next_ : head_;
  if (w.next_)
    w.next_->prev_ = &w;
  else
    tail_ = &w;
  if (after)
    after->next_ = &w;
  else
    head_ = &w;
  w.linked_ = true;
  ++waiting_;
  // An armed timer that fires early finds nothing due and re-arms for the head: only a deadline before
  // the armed one needs the timer now.
  if (!armed_ || w.deadline_ < armed_at_) arm(w.deadline_);
}

void ReadDeadlines::unlink(Watch& w) {
  // The timer is left as it is: firing with nothing due costs less than re-arming per read.
  (w.prev_ ? w.prev_->next_ : head_) = w.next_;
  (w.next_ ? w.next_->prev_ : tail_) = w.prev_;
  w.prev_ = w.next_ = nullptr;
  w.linked_ = false;
  --waiting_;
  if (!head_ && stop_when_idle_) disarm();
}

void ReadDeadlines::stop_when_idle() {
  stop_when_idle_ = true;
  if (!head_) disarm();
}

void ReadDeadlines::disarm() {
  if (!armed_) return;
  armed_ = false;
  timer_.cancel();
}

void ReadDeadlines::arm(steady_clock::time_point at) {
  armed_ = true;
  armed_at_ = at;
  timer_.expires_at(at);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    // Aborted: re-armed for an earlier deadline (that wait is pending), or the worker is going away.
    if (ec) return;
    armed_ = false;
    expire(steady_clock::now());
  });
}

void ReadDeadlines::expire(steady_clock::time_point now) {
  while (head_ && head_->deadline_ <= now) {
    Watch& w = *head_;
    unlink(w);
    w.expired_ = true;
    // The pending read completes with operation_aborted (queued, not run here); the reader sees expired().
    boost::system::error_code ignored;
    w.socket_.cancel(ignored);
  }
  if (head_) arm(head_->deadline_);
}

}  // namespace canaryd::proxy
