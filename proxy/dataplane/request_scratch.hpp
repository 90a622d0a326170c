// The memory a request in flight needs (relay buffer, upstream read buffer, heads) and each worker's pool of
// it, so that an idle connection holds none and a steady load allocates nothing.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <boost/beast/core/flat_buffer.hpp>

namespace canaryd::proxy {

/// The memory one request in flight needs, and an idle connection does not: the relay buffer bodies
/// pass through, the buffer upstream responses are read into, and the heads as received and as sent.
/// A worker keeps the ones no request is using and hands out the most recently returned first, so
/// an idle client connection holds none (HAProxy and nginx release their buffers the same way) and the
/// busy ones stay in cache.
struct RequestScratch {
  /// Size of the relay buffer; bodies pass through it, never buffered whole.
  static constexpr std::size_t kRelaySize = 16 * 1024;
  /// Like nginx's proxy_buffer_size, but generous: a response header block larger than this is a 502.
  static constexpr std::size_t kMaxResponseHeader = 60 * 1024;

  RequestScratch() {
    // Beast sizes each read by the buffer's free capacity, so room is reserved once. Beast's parser has
    // no limit of its own for chunk-size lines and trailer sections: the buffer's maximum is that
    // limit (a read past it fails as buffer_overflow).
    upstream.reserve(kRelaySize);
    upstream.max_size(kMaxResponseHeader + kRelaySize);
  }

  std::array<char, kRelaySize> relay;
  boost::beast::flat_buffer upstream;
  std::string request_head;  ///< the request's head as received (parsed in place)
  std::string head_out;      ///< the head being sent
  std::string spill;         ///< body bytes a slow receiver has not taken yet (see relay_length)
};

/// A worker's unused RequestScratch objects. Worker thread only. What a burst took is given back by
/// trim(), which the worker's sweep calls: taking and returning never frees, so a steady load does not
/// allocate.
class ScratchPool {
 public:
  /// Returns its scratch to the pool when it goes out of scope.
  class Lease {
   public:
    Lease(ScratchPool& pool, std::unique_ptr<RequestScratch> scratch) : pool_(&pool), scratch_(std::move(scratch)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (scratch_) pool_->give_back(std::move(scratch_));
    }
    RequestScratch* operator->() const { return scratch_.get(); }
    RequestScratch& operator*() const { return *scratch_; }

   private:
    ScratchPool* pool_;
    std::unique_ptr<RequestScratch> scratch_;
  };

  Lease take() {
    ++leased_;
    if (free_.empty()) {
      low_water_ = 0;
      return Lease(*this, std::make_unique<RequestScratch>());
    }
    auto scratch = std::move(free_.back());
    free_.pop_back();
    if (free_.size() < low_water_) low_water_ = free_.size();
    return Lease(*this, std::move(scratch));
  }

  /// Frees what no request needed since the last trim (the free list never went below that many), or,
  /// when no request is in flight at all, everything: either way down to kReserve. Returns how many
  /// it freed.
  std::size_t trim() {
    const std::size_t unused = leased_ == 0 ? free_.size() : std::min(low_water_, free_.size());
    const std::size_t drop = unused > kReserve ? unused - kReserve : 0;
    // The least recently returned go: the front (take() hands out the back).
    free_.erase(free_.begin(), free_.begin() + static_cast<std::ptrdiff_t>(drop));
    low_water_ = free_.size();
    return drop;
  }

  std::size_t kept() const { return free_.size(); }

  /// Kept at most; a burst beyond it is freed when it ends.
  static constexpr std::size_t kMaxKept = 1024;
  /// Kept through trim(): what a quiet worker's next requests find ready.
  static constexpr std::size_t kReserve = 16;

 private:
  void give_back(std::unique_ptr<RequestScratch> scratch) {
    --leased_;
    if (free_.size() >= kMaxKept) return;
    free_.push_back(std::move(scratch));  // contents are stale; each user clears what it reads into
  }

  std::vector<std::unique_ptr<RequestScratch>> free_;
  std::size_t low_water_ = 0;  ///< the fewest free_ held since the last trim()
  std::size_t leased_ = 0;     ///< in use by requests now
};

}  // namespace canaryd::proxy
