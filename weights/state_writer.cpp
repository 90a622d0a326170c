// ThreadedFileBackend (see state_writer.hpp): one thread, one write at a time, the completion posted back.
#include "weights/state_writer.hpp"

#include <cassert>
#include <utility>

namespace canaryd::weights {

namespace {

SaveResult save_to(const StateStore& store, const RoutingHistory& h) {
  auto saved = store.save(h);
  if (!saved) return fail(SaveError{SaveError::Kind::Failed, std::move(saved).error().message});
  return {};
}

}  // namespace

ThreadedFileBackend::ThreadedFileBackend(StateStore store, Post post)
    : store_(std::move(store)), post_(std::move(post)), thread_([this] { run(); }) {}

ThreadedFileBackend::~ThreadedFileBackend() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

SaveResult ThreadedFileBackend::save(const RoutingHistory& h) { return save_to(store_, h); }

void ThreadedFileBackend::async_save(const RoutingHistory& h, SaveDone done) {
  {
    std::lock_guard lock(mutex_);
    assert(job_ == nullptr && "one write at a time");
    job_ = &h;
    done_ = std::move(done);
  }
  wake_.notify_one();
}

void ThreadedFileBackend::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    // A write asked for before the destructor ran still completes: its callers wait for it, and one cut
    // short would leave only a temporary file behind.
    wake_.wait(lock, [this] { return job_ != nullptr || stopping_; });
    if (job_ == nullptr) return;
    const RoutingHistory* job = job_;
    SaveDone done = std::move(done_);
    lock.unlock();
    SaveResult result = save_to(store_, *job);
    lock.lock();
    job_ = nullptr;
    // The history is not read after this: the completion may free it.
    post_([done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
  }
}

}  // namespace canaryd::weights
