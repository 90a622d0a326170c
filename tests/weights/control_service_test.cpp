#include "weights/control_service.hpp"

#include <gtest/gtest.h>

#include "tests/weights/test_support.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

namespace canaryd::weights {
namespace {

using test_support::at;
using test_support::sel;
using test_support::TempDir;

namespace fs = std::filesystem;

RoutingHistory initial_history(unsigned limit) {
  RoutingState s;
  s.revision = 1;
  s.stable = sel("version=v1");
  s.canary = sel("version=v2");
  s.cause = "initial";
  s.time = at(0);
  return RoutingHistory(s, limit);
}

TransitionContext context(int minute) {
  TransitionContext ctx;
  ctx.service_selector = sel("name=nginx");
  ctx.endpoint_labels = {{{"name", "nginx"}, {"version", "v1"}}, {{"name", "nginx"}, {"version", "v2"}}};
  ctx.cause = "test";
  ctx.now = at(minute);
  return ctx;
}

auto weight_to(config::BasisPoints w, int minute = 1) {
  return [w, minute](const RoutingHistory& h) { return set_weight(h, w, context(minute)); };
}

class ControlServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }
  std::string state_file() const { return dir_.path() + "/state.json"; }
  TempDir dir_{"weights-service"};
};

TEST_F(ControlServiceTest, AppliedChangeIsPersistedThenPublished) {
  ControlService service(initial_history(10), StateStore(state_file()));
  std::vector<RoutingState> published;
  service.set_on_change([&](const RoutingState& s) {
    // Published only once durable: the file already holds it.
    const auto loaded = StateStore(state_file()).load(10);
    EXPECT_EQ(loaded.kind, StateStore::Loaded::Kind::Ok);
    if (loaded.history) {
      EXPECT_EQ(loaded.history->current(), s);
    }
    // The lock is released: calling back in must not deadlock.
    EXPECT_EQ(service.current(), s);
    published.push_back(s);
  });
  const auto result = service.apply(weight_to(1000));
  ASSERT_TRUE(std::holds_alternative<RoutingState>(result));
  EXPECT_EQ(std::get<RoutingState>(result).revision, 2u);
  EXPECT_EQ(service.current().canary_weight, 1000u);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].revision, 2u);
  EXPECT_EQ(service.history().revisions().size(), 2u);
}

TEST_F(ControlServiceTest, RefusedTransitionChangesNothing) {
  ControlService service(initial_history(10), StateStore(state_file()));
  bool published = false;
  service.set_on_change([&](const RoutingState&) { published = true; });
  const auto result = service.apply([](const RoutingHistory& h) { return undo(h, 7, context(1)); });
  ASSERT_TRUE(std::holds_alternative<TransitionError>(result));
  EXPECT_EQ(std::get<TransitionError>(result).status, 404);
  EXPECT_FALSE(published);
  EXPECT_FALSE(fs::exists(state_file())) << "nothing to persist";
  EXPECT_EQ(service.current().revision, 1u);
}

TEST_F(ControlServiceTest, FailedPersistAnswers500AndKeepsTheHistory) {
  const auto before = initial_history(10);
  ControlService service(before, StateStore(dir_.path() + "/missing-dir/state.json"));
  bool published = false;
  service.set_on_change([&](const RoutingState&) { published = true; });
  const auto result = service.apply(weight_to(1000));
  ASSERT_TRUE(std::holds_alternative<TransitionError>(result));
  const auto& err = std::get<TransitionError>(result);
  EXPECT_EQ(err.status, 500);
  EXPECT_EQ(err.message.rfind("cannot persist state: ", 0), 0u) << err.message;
  EXPECT_NE(err.message.find("missing-dir/state.json"), std::string::npos) << err.message;
  EXPECT_FALSE(published);
  EXPECT_EQ(service.history(), before);
}

TEST_F(ControlServiceTest, FailedPersistOfAnExistingFileKeepsItAndTheHistory) {
  ControlService service(initial_history(10), StateStore(state_file()));
  ASSERT_TRUE(std::holds_alternative<RoutingState>(service.apply(weight_to(1000))));
  const auto before = service.history();
  const auto result = [&] {
    const test_support::FileSizeLimit full_disk(16);
    return service.apply(weight_to(2000));
  }();
  ASSERT_TRUE(std::holds_alternative<TransitionError>(result));
  EXPECT_EQ(std::get<TransitionError>(result).status, 500);
  EXPECT_EQ(service.history(), before);
  EXPECT_EQ(*StateStore(state_file()).load(10).history, before);
}

TEST_F(ControlServiceTest, RacingChangesNeverLoseARevision) {
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 50;
  ControlService service(initial_history(kThreads * kCallsPerThread + 1), StateStore(state_file()));
  std::atomic<int> published{0};
  service.set_on_change([&](const RoutingState&) { ++published; });
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        // Never 0, the initial weight: the same weight again would change nothing.
        const auto w = static_cast<config::BasisPoints>(t * 1000 + i + 1);
        if (!std::holds_alternative<RoutingState>(service.apply(weight_to(w)))) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(published.load(), kThreads * kCallsPerThread);
  const auto history = service.history();
  EXPECT_EQ(history.current().revision, 1u + kThreads * kCallsPerThread);
  ASSERT_EQ(history.revisions().size(), 1u + kThreads * kCallsPerThread);
  std::uint64_t expected = 1;
  for (const auto& r : history.revisions()) EXPECT_EQ(r.revision, expected++);
  EXPECT_EQ(*StateStore(state_file()).load(kThreads * kCallsPerThread + 1).history, history);
}

TEST_F(ControlServiceTest, SetHistoryLimitTrimsAndPersists) {
  ControlService service(initial_history(10), StateStore(state_file()));
  for (config::BasisPoints w = 100; w <= 500; w += 100) service.apply(weight_to(w));
  std::string error;
  EXPECT_TRUE(service.set_history_limit(2, error)) << error;
  EXPECT_EQ(service.history().revisions().size(), 2u);
  const auto loaded = StateStore(state_file()).load(10);
  ASSERT_TRUE(loaded.history);
  EXPECT_EQ(loaded.history->revisions().size(), 2u);
  EXPECT_EQ(loaded.history->current().revision, 6u);
}

TEST_F(ControlServiceTest, SetHistoryLimitKeepsTheBoundWhenTheWriteFails) {
  auto h = initial_history(10);
  h.push(std::get<RoutingState>(set_weight(h, 100, context(1))));
  ControlService service(h, StateStore(dir_.path() + "/missing-dir/state.json"));
  std::string error;
  EXPECT_FALSE(service.set_history_limit(1, error));
  EXPECT_NE(error.find("missing-dir"), std::string::npos) << error;
  EXPECT_EQ(service.history().revisions().size(), 1u);
  service.set_history_limit(1);  // unchanged: nothing to write, no failure
  EXPECT_TRUE(service.set_history_limit(1, error));
}

}  // namespace
}  // namespace canaryd::weights

namespace canaryd::weights {
namespace {

/// A shared store (a ConfigMap, say) in memory: a save conflicts when the history it builds on is not
/// the stored one, exactly as a write with an old resourceVersion would.
class SharedStore {
 public:
  explicit SharedStore(RoutingHistory h) : stored_(std::move(h)) {}
  RoutingHistory stored_;
  int saves = 0;
  int conflicts = 0;
};

class SharedBackend : public StateBackend {
 public:
  SharedBackend(SharedStore& store, RoutingHistory known) : store_(store), known_(std::move(known)) {}
  SaveResult save(const RoutingHistory& h, std::string&) override {
    if (!(store_.stored_ == known_)) {
      ++store_.conflicts;
      return SaveResult::Conflict;
    }
    ++store_.saves;
    store_.stored_ = h;
    known_ = h;
    return SaveResult::Saved;
  }
  StateStore::Loaded load(unsigned) override {
    known_ = store_.stored_;
    StateStore::Loaded l;
    l.kind = StateStore::Loaded::Kind::Ok;
    l.history = store_.stored_;
    return l;
  }

 private:
  SharedStore& store_;
  RoutingHistory known_;
};

TEST(ControlServiceSharedTest, AConflictRebuildsOnTheNewerHistory) {
  SharedStore store(initial_history(10));
  ControlService a(initial_history(10), std::make_unique<SharedBackend>(store, initial_history(10)));
  ControlService b(initial_history(10), std::make_unique<SharedBackend>(store, initial_history(10)));
  std::vector<std::uint64_t> published_by_b;
  b.set_on_change([&](const RoutingState& s) { published_by_b.push_back(s.revision); });

  ASSERT_TRUE(std::holds_alternative<RoutingState>(a.apply(weight_to(1000))));  // revision 2 at 10 %
  // b still believes revision 1 is current; its write conflicts, it reads revision 2 and builds 3 on it.
  auto r = b.apply(weight_to(2500));
  ASSERT_TRUE(std::holds_alternative<RoutingState>(r));
  EXPECT_EQ(std::get<RoutingState>(r).revision, 3u);
  EXPECT_EQ(store.conflicts, 1);
  EXPECT_EQ(store.stored_.current().canary_weight, 2500u);
  ASSERT_EQ(store.stored_.revisions().size(), 3u) << "neither change was lost";
  EXPECT_EQ(published_by_b, (std::vector<std::uint64_t>{3}));
}

TEST(ControlServiceSharedTest, AChangeThatNoLongerAppliesIsRefusedAndTheNewerHistoryKept) {
  SharedStore store(initial_history(10));
  ControlService a(initial_history(10), std::make_unique<SharedBackend>(store, initial_history(10)));
  ControlService b(initial_history(10), std::make_unique<SharedBackend>(store, initial_history(10)));
  ASSERT_TRUE(std::holds_alternative<RoutingState>(a.apply([](const RoutingHistory& h) {
    return remove_canary(h, context(1));
  })));
  std::vector<std::uint64_t> published_by_b;
  b.set_on_change([&](const RoutingState& s) { published_by_b.push_back(s.revision); });
  // b's promote conflicts; on revision 2 there is no canary to promote any more.
  auto r = b.apply([](const RoutingHistory& h) { return promote(h, context(2)); });
  ASSERT_TRUE(std::holds_alternative<TransitionError>(r));
  EXPECT_EQ(std::get<TransitionError>(r).status, 409);
  EXPECT_EQ(b.current().revision, 2u) << "b now holds what the store holds";
  EXPECT_EQ(published_by_b, (std::vector<std::uint64_t>{2})) << "and published it";
}

class AlwaysConflicting : public StateBackend {
 public:
  SaveResult save(const RoutingHistory&, std::string&) override { return SaveResult::Conflict; }
  StateStore::Loaded load(unsigned) override {
    ++loads;
    StateStore::Loaded l;
    l.kind = StateStore::Loaded::Kind::Ok;
    l.history = initial_history(10);
    return l;
  }
  int loads = 0;
};

TEST(ControlServiceSharedTest, EndlessConflictsGiveUpWith503) {
  auto backend = std::make_unique<AlwaysConflicting>();
  auto* raw = backend.get();
  ControlService s(initial_history(10), std::move(backend));
  auto r = s.apply(weight_to(1000));
  ASSERT_TRUE(std::holds_alternative<TransitionError>(r));
  EXPECT_EQ(std::get<TransitionError>(r).status, 503);
  EXPECT_EQ(raw->loads, ControlService::kMaxConflicts);
  EXPECT_EQ(s.current().revision, 1u);
}

TEST(ControlServiceSharedTest, AdoptPublishesOnlyWhatIsNew) {
  ControlService s(initial_history(10), std::make_unique<AlwaysConflicting>());
  int published = 0;
  s.set_on_change([&](const RoutingState&) { ++published; });
  s.adopt(initial_history(10));
  EXPECT_EQ(published, 0);
  auto next = initial_history(10);
  next.push(std::get<RoutingState>(set_weight(next, 500, context(3))));
  s.adopt(next);
  EXPECT_EQ(published, 1);
  EXPECT_EQ(s.current().canary_weight, 500u);
}

}  // namespace
}  // namespace canaryd::weights
