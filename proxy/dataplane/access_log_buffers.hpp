// One worker's access log memory: a ring of preallocated buffers the worker fills with lines and hands,
// full or aged, to the writer thread, which writes and returns them. Single producer, single consumer,
// no lock: a line is dropped (and counted) when the writer has not returned the next buffer yet.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "proxy/dataplane/access_log_line.hpp"

namespace canaryd::proxy {

class AccessLogBuffers {
 public:
  static constexpr std::size_t kBufferSize = 128 * 1024;
  static constexpr std::size_t kBuffers = 8;
  static_assert(kMaxAccessLine <= kBufferSize);

  /// `wake` is bumped and notified whenever a buffer is handed over (the writer waits on it).
  explicit AccessLogBuffers(std::atomic<std::uint32_t>& wake) : wake_(wake) {}

  /// Before the worker first logs (the main thread, before the snapshot that turns the log on is
  /// published): the memory, once; later calls do nothing.
  void allocate();
  bool allocated() const { return allocated_.load(std::memory_order_acquire); }

  /// Worker thread: formats `record` into the current buffer, handing it over when full. Drops the line
  /// (counted in dropped()) when the writer still holds the next buffer.
  void append(const AccessRecord& record);
  /// Worker thread: hands the current buffer over when it holds a line (the worker's timer, and its end).
  void hand_over();

  /// Writer thread: calls `write(text)` for each handed-over buffer, oldest first, and returns each to
  /// the worker. Returns how many buffers it wrote.
  template <class Write>
  std::size_t collect(Write&& write) {
    std::size_t n = 0;
    if (!allocated()) return 0;
    while (slots_[take_].full.load(std::memory_order_acquire)) {
      Slot& s = slots_[take_];
      write(std::string_view(s.data.get(), s.size));
      s.size = 0;
      s.full.store(false, std::memory_order_release);
      take_ = (take_ + 1) % kBuffers;
      ++n;
    }
    return n;
  }

  /// Any thread: lines dropped because the writer fell behind.
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct Slot {
    std::unique_ptr<char[]> data;
    std::size_t size = 0;  ///< owned by whoever owns the slot (full: the writer)
    std::atomic<bool> full{false};
  };

  std::atomic<std::uint32_t>& wake_;
  std::array<Slot, kBuffers> slots_;
  std::atomic<bool> allocated_{false};  ///< set once, after the memory (a worker's timer may look any time)
  std::size_t fill_ = 0;  ///< the worker's current slot
  std::size_t take_ = 0;  ///< the writer's next slot
  SecondCache seconds_;
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace canaryd::proxy
