// A worker's pipes for splice(): bodies that move between two plain sockets without being copied
// through canaryd's memory.
#pragma once

#include <cstddef>
#include <vector>

namespace canaryd::proxy {

/// One pipe and how many bytes are in it now (the relay using it keeps the count).
struct Pipe {
  int read_end = -1;
  int write_end = -1;
  std::size_t capacity = 0;  ///< bytes the pipe holds before a write to it would block
  std::size_t held = 0;
};

/// The pipes one worker's relays borrow, made the first time they are needed and kept for the next
/// relay once they are empty, as HAProxy's pipe pool does: creating one costs three system calls, more
/// than splicing a 64 KiB body. A pipe given back with bytes in it belongs to no stream any more and is
/// closed. Worker thread only.
class PipePool {
 public:
  /// Pipes kept for later; more are closed when given back (a burst of large bodies, over).
  static constexpr std::size_t kKeep = 16;
  /// What each pipe is asked to hold (F_SETPIPE_SZ); the kernel may give less.
  static constexpr int kPipeSize = 64 * 1024;

  /// Gives its pipe back (or closes it, see PipePool) when it goes out of scope.
  class Lease {
   public:
    Lease() = default;
    Lease(PipePool& pool, Pipe pipe) : pool_(&pool), pipe_(pipe) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), pipe_(other.pipe_) { other.pool_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->give_back(pipe_);
    }
    /// False when no pipe could be made (out of descriptors): the caller copies instead.
    explicit operator bool() const { return pool_ != nullptr; }
    Pipe* operator->() { return &pipe_; }
    Pipe& operator*() { return pipe_; }

   private:
    PipePool* pool_ = nullptr;
    Pipe pipe_;
  };

  PipePool() = default;
  PipePool(const PipePool&) = delete;
  PipePool& operator=(const PipePool&) = delete;
  ~PipePool();

  /// A pipe, empty; none (a false Lease) when the process is out of descriptors or pipe memory.
  Lease take();
  /// Pipes open now: kept ones and lent ones.
  std::size_t open() const { return open_; }
  std::size_t kept() const { return free_.size(); }

 private:
  void give_back(const Pipe& pipe);
  void close(const Pipe& pipe);

  std::vector<Pipe> free_;
  std::size_t open_ = 0;
};

}  // namespace canaryd::proxy
