// Unit tests of ThreadedFileBackend: the write on its own thread, the completion posted to the loop, a
// failed write, the destructor waiting for the write under way; and ControlService over it, grouping the
// changes that arrive while a write is under way.
#include "weights/state_writer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tests/weights/test_support.hpp"
#include "weights/control_service.hpp"

namespace canaryd::weights {
namespace {

using test_support::at;
using test_support::sel;
using test_support::TempDir;
using test_support::view_of;

/// The event loop's stand-in: completions posted from the writer's thread wait here until the test runs
/// them on its own thread.
class Loop {
 public:
  ThreadedFileBackend::Post post() {
    return [this](std::function<void()> f) {
      {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(f));
      }
      posted_.notify_one();
    };
  }
  /// Runs the next completion, waiting for it to be posted; false when none came within 10 s.
  bool run_one() {
    std::unique_lock lock(mutex_);
    if (!posted_.wait_for(lock, std::chrono::seconds(10), [this] { return !queue_.empty(); })) return false;
    auto f = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    f();
    return true;
  }
  std::size_t queued() {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable posted_;
  std::deque<std::function<void()>> queue_;
};

RoutingHistory sample_history() {
  RoutingState s;
  s.revision = 1;
  s.stable = sel("version=v1");
  s.canary = sel("version=v2");
  s.cause = "initial";
  s.time = at(0);
  return RoutingHistory(s, 100);
}

auto weight_to(config::BasisPoints w) {
  return [w](const RoutingHistory& h) {
    TransitionContext ctx;
    ctx.service_selector = sel("name=nginx");
    ctx.endpoint_labels = {{{"name", "nginx"}, {"version", "v1"}}, {{"name", "nginx"}, {"version", "v2"}}};
    ctx.cause = "test";
    ctx.now = at(1);
    return set_weight(h, w, ctx);
  };
}

class ThreadedFileBackendTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }
  std::string state_file() const { return dir_.path() + "/state.json"; }
  TempDir dir_{"weights-writer"};
  Loop loop_;
};

TEST_F(ThreadedFileBackendTest, AWriteReachesTheFileAndIsAnsweredOnTheLoop) {
  ThreadedFileBackend backend(StateStore(state_file()), loop_.post());
  const RoutingHistory h = sample_history();
  std::optional<SaveResult> saved;
  backend.async_save(h, [&](SaveResult r) { saved = std::move(r); });
  EXPECT_FALSE(saved.has_value()) << "answered only through the loop";
  ASSERT_TRUE(loop_.run_one()) << "the write never completed";
  ASSERT_TRUE(saved.has_value());
  EXPECT_TRUE(saved->ok());
  EXPECT_EQ(*view_of(backend.load(100)).history, h);
}

TEST_F(ThreadedFileBackendTest, AFailedWriteIsAnsweredFailedWithTheStoresMessage) {
  const std::string path = dir_.path() + "/no/such/dir/state.json";
  ThreadedFileBackend backend(StateStore(path), loop_.post());
  const RoutingHistory h = sample_history();
  std::optional<SaveResult> saved;
  backend.async_save(h, [&](SaveResult r) { saved = std::move(r); });
  ASSERT_TRUE(loop_.run_one());
  ASSERT_TRUE(saved.has_value());
  ASSERT_FALSE(saved->ok());
  EXPECT_EQ(saved->error().kind, SaveError::Kind::Failed);
  EXPECT_EQ(saved->error().message.rfind("state file " + path + ": cannot create ", 0), 0u) << saved->error().message;
}

TEST_F(ThreadedFileBackendTest, TheDestructorFinishesTheWriteUnderWay) {
  const RoutingHistory h = sample_history();
  {
    ThreadedFileBackend backend(StateStore(state_file()), loop_.post());
    backend.async_save(h, [](SaveResult) {});
  }
  EXPECT_EQ(loop_.queued(), 1u) << "its completion was posted";
  EXPECT_EQ(*view_of(StateStore(state_file()).load(100)).history, h);
}

TEST_F(ThreadedFileBackendTest, ChangesDuringAWriteShareTheNextAndEachIsAnsweredOnlyOnceOnDisk) {
  constexpr int kCalls = 50;
  auto backend = std::make_unique<ThreadedFileBackend>(StateStore(state_file()), loop_.post());
  ControlService service(sample_history(), std::move(backend));
  int published = 0;
  service.set_on_change([&](const RoutingState&) { ++published; });
  std::vector<std::uint64_t> answered;
  for (int i = 0; i < kCalls; ++i) {
    service.apply(weight_to(static_cast<config::BasisPoints>(i + 1)), [&](ControlService::ApplyResult r) {
      ASSERT_TRUE(r.ok()) << r.error().message;
      // The file holds this change (or a later one) before its caller hears of it.
      const auto stored = view_of(StateStore(state_file()).load(100));
      ASSERT_TRUE(stored.history.has_value()) << stored.error;
      EXPECT_GE(stored.history->current().revision, r.value().revision);
      EXPECT_EQ(service.current().revision, stored.history->current().revision) << "reads show what is stored";
      answered.push_back(r.value().revision);
    });
  }
  EXPECT_TRUE(answered.empty()) << "nothing answered before its write";
  EXPECT_EQ(service.current().revision, 1u) << "reads show only what is stored";
  while (answered.size() < static_cast<std::size_t>(kCalls)) {
    ASSERT_TRUE(loop_.run_one()) << "a write never completed; answered " << answered.size();
  }
  EXPECT_EQ(service.writes(), 2u) << "the first change alone, then the 49 that came during its write";
  EXPECT_EQ(published, 2);
  ASSERT_EQ(answered.size(), static_cast<std::size_t>(kCalls));
  for (int i = 0; i < kCalls; ++i) EXPECT_EQ(answered[i], 2u + i) << "answered in the order they came";
  EXPECT_EQ(*view_of(StateStore(state_file()).load(100)).history, service.history());
}

}  // namespace
}  // namespace canaryd::weights
