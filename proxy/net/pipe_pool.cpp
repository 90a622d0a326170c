// The worker's pipe pool (see pipe_pool.hpp).
#include "proxy/net/pipe_pool.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace canaryd::proxy {

PipePool::~PipePool() {
  for (const Pipe& pipe : free_) close(pipe);
}

PipePool::Lease PipePool::take() {
  if (!free_.empty()) {
    const Pipe pipe = free_.back();
    free_.pop_back();
    return Lease(*this, pipe);
  }
  int ends[2];
  if (::pipe2(ends, O_NONBLOCK | O_CLOEXEC) != 0) return Lease();
  Pipe pipe{ends[0], ends[1]};
  // Past the user's pipe memory (fs.pipe-user-pages-soft) the kernel refuses to grow a pipe: the smaller
  // one still works, with more system calls per body.
  int size = ::fcntl(ends[1], F_SETPIPE_SZ, kPipeSize);
  if (size < 0) size = ::fcntl(ends[1], F_GETPIPE_SZ);
  if (size <= 0) {
    ::close(ends[0]);
    ::close(ends[1]);
    return Lease();
  }
  pipe.capacity = static_cast<std::size_t>(size);
  ++open_;
  return Lease(*this, pipe);
}

void PipePool::give_back(const Pipe& pipe) {
  if (pipe.held != 0 || free_.size() >= kKeep) {
    close(pipe);
    return;
  }
  // Reserved once: giving back never allocates after the first burst.
  if (free_.capacity() < kKeep) free_.reserve(kKeep);
  free_.push_back(pipe);
}

void PipePool::close(const Pipe& pipe) {
  ::close(pipe.read_end);
  ::close(pipe.write_end);
  --open_;
}

}  // namespace canaryd::proxy
