// The worker's side of the access log ring (see access_log_buffers.hpp).
#include "proxy/dataplane/access_log_buffers.hpp"

#include <span>

namespace canaryd::proxy {

void AccessLogBuffers::allocate() {
  if (allocated()) return;
  for (auto& s : slots_) s.data = std::make_unique<char[]>(kBufferSize);
  allocated_.store(true, std::memory_order_release);
}

void AccessLogBuffers::append(const AccessRecord& record) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    Slot& s = slots_[fill_];
    if (s.full.load(std::memory_order_acquire)) break;  // the writer has not returned it yet
    const std::size_t n = format_access_line(record, seconds_, std::span<char>(s.data.get() + s.size, kBufferSize - s.size));
    if (n > 0) {
      s.size += n;
      return;
    }
    hand_over();
  }
  dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void AccessLogBuffers::hand_over() {
  if (!allocated()) return;
  Slot& s = slots_[fill_];
  if (s.full.load(std::memory_order_acquire) || s.size == 0) return;
  s.full.store(true, std::memory_order_release);
  fill_ = (fill_ + 1) % kBuffers;
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_one();
}

}  // namespace canaryd::proxy
