// ThreadedFileBackend: the state file written on a thread of its own, so that the event loop serves on
// while a change is made durable.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "weights/state_backend.hpp"
#include "weights/state_store.hpp"

namespace canaryd::weights {

/// The state file behind StateBackend, its asynchronous writes done by a thread of its own: rendering the
/// JSON, creating the temporary file, the two fsyncs and the rename cost the event loop's thread ~0.2 ms
/// of CPU a change and a few ms of waiting on the disk. One write at a time (ControlService never starts
/// a second before the first is answered); what arrives meanwhile waits in ControlService, which then
/// writes it all at once. The blocking calls (start-up) run on the caller's thread.
class ThreadedFileBackend : public StateBackend {
 public:
  /// How a completion gets to the event loop's thread: asio::post in canaryd, a queue in the tests.
  using Post = std::function<void(std::function<void()>)>;

  ThreadedFileBackend(StateStore store, Post post);
  /// Waits for the write under way, if any, to reach the disk; its completion is posted as usual.
  ~ThreadedFileBackend() override;
  ThreadedFileBackend(const ThreadedFileBackend&) = delete;
  ThreadedFileBackend& operator=(const ThreadedFileBackend&) = delete;

  SaveResult save(const RoutingHistory& h) override;
  LoadedState load(unsigned limit) override { return store_.load(limit); }
  void async_save(const RoutingHistory& h, SaveDone done) override;

 private:
  void run();

  const StateStore store_;
  const Post post_;
  std::mutex mutex_;
  std::condition_variable wake_;
  const RoutingHistory* job_ = nullptr;  ///< the history to write; ControlService keeps it alive meanwhile
  SaveDone done_;
  bool stopping_ = false;
  std::thread thread_;  ///< last: it starts once everything it reads exists
};

}  // namespace canaryd::weights
