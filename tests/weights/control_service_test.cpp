// Unit tests of ControlService: persist-then-publish, failed writes, queued changes while a write is
// pending, conflicts with a shared backend.
#include "weights/control_service.hpp"

#include <gtest/gtest.h>

#include "tests/weights/held_backend.hpp"
#include "tests/weights/test_support.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace canaryd::weights {
namespace {

using test_support::at;
using test_support::completed_at_once;
using test_support::HeldBackend;
using test_support::sel;
using test_support::LoadKind;
using test_support::loaded_state;
using test_support::save_result;
using test_support::SaveOutcome;
using test_support::TempDir;
using test_support::view_of;
using SaveResult = SaveOutcome;

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

/// apply() over a backend that completes at once (the state file).
ControlService::ApplyResult apply_now(ControlService& service, ControlService::Transition transition) {
  return completed_at_once<ControlService::ApplyResult>(
      [&](auto done) { service.apply(std::move(transition), std::move(done)); });
}

/// set_history_limit() over a backend that completes at once: whether it was stored, and why not.
bool set_limit_now(ControlService& service, unsigned limit, std::string& error) {
  using Outcome = std::pair<bool, std::string>;
  const auto [saved, message] = completed_at_once<Outcome>([&](auto done) {
    service.set_history_limit(limit, [done](Result<void> stored) {
      done(Outcome{stored.ok(), stored ? std::string() : stored.error().message});
    });
  });
  error = message;
  return saved;
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
    const auto loaded = view_of(StateStore(state_file()).load(10));
    EXPECT_EQ(loaded.kind, LoadKind::Ok);
    if (loaded.history) {
      EXPECT_EQ(loaded.history->current(), s);
    }
    // Already the state in force for whoever calls back in.
    EXPECT_EQ(service.current(), s);
    published.push_back(s);
  });
  const auto result = apply_now(service, weight_to(1000));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.value().revision, 2u);
  EXPECT_EQ(service.current().canary_weight, 1000u);
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].revision, 2u);
  EXPECT_EQ(service.history().revisions().size(), 2u);
}

TEST_F(ControlServiceTest, RefusedTransitionChangesNothing) {
  ControlService service(initial_history(10), StateStore(state_file()));
  bool published = false;
  service.set_on_change([&](const RoutingState&) { published = true; });
  const auto result = apply_now(service, [](const RoutingHistory& h) { return undo(h, 7, context(1)); });
  ASSERT_TRUE(!result.ok());
  EXPECT_EQ(result.error().kind, TransitionError::Kind::NotFound);
  EXPECT_FALSE(published);
  EXPECT_FALSE(fs::exists(state_file())) << "nothing to persist";
  EXPECT_EQ(service.current().revision, 1u);
}

TEST_F(ControlServiceTest, FailedPersistAnswers500AndKeepsTheHistory) {
  const auto before = initial_history(10);
  ControlService service(before, StateStore(dir_.path() + "/missing-dir/state.json"));
  bool published = false;
  service.set_on_change([&](const RoutingState&) { published = true; });
  const auto result = apply_now(service, weight_to(1000));
  ASSERT_TRUE(!result.ok());
  const auto& err = result.error();
  EXPECT_EQ(err.kind, TransitionError::Kind::StorageFailed);
  EXPECT_EQ(err.message.rfind("cannot persist state: ", 0), 0u) << err.message;
  EXPECT_NE(err.message.find("missing-dir/state.json"), std::string::npos) << err.message;
  EXPECT_FALSE(published);
  EXPECT_EQ(service.history(), before);
}

TEST_F(ControlServiceTest, FailedPersistOfAnExistingFileKeepsItAndTheHistory) {
  ControlService service(initial_history(10), StateStore(state_file()));
  ASSERT_TRUE((apply_now(service, weight_to(1000))).ok());
  const auto before = service.history();
  const auto result = [&] {
    const test_support::FileSizeLimit full_disk(16);
    return apply_now(service, weight_to(2000));
  }();
  ASSERT_TRUE(!result.ok());
  EXPECT_EQ(result.error().kind, TransitionError::Kind::StorageFailed);
  EXPECT_EQ(service.history(), before);
  EXPECT_EQ(*view_of(StateStore(state_file()).load(10)).history, before);
}

TEST_F(ControlServiceTest, RacingChangesNeverLoseARevision) {
  // Changes that arrive while a write is pending (control calls keep coming while the API server or the
  // disk takes its time) wait for it, then go together in one write: each builds on the one before, and
  // none is lost or reordered.
  constexpr int kCalls = 400;
  auto backend = std::make_unique<HeldBackend>(StateStore(state_file()));
  HeldBackend& held = *backend;
  ControlService service(initial_history(kCalls + 1), std::move(backend));
  int published = 0;
  service.set_on_change([&](const RoutingState&) { ++published; });
  std::vector<std::uint64_t> answered;
  for (int i = 0; i < kCalls; ++i) {
    // Never 0, the initial weight: the same weight again would change nothing.
    service.apply(weight_to(static_cast<config::BasisPoints>(i + 1)), [&](ControlService::ApplyResult r) {
      ASSERT_TRUE(r.ok());
      answered.push_back(r.value().revision);
    });
  }
  EXPECT_EQ(service.pending(), static_cast<std::size_t>(kCalls));
  ASSERT_EQ(held.saves.size(), 1u) << "one write at a time";
  EXPECT_EQ(held.saves.front().history.current().revision, 2u);
  held.release_save();
  EXPECT_EQ(answered, (std::vector<std::uint64_t>{2}));
  ASSERT_EQ(held.saves.size(), 1u) << "the rest together";
  const RoutingHistory& batch = held.saves.front().history;
  ASSERT_EQ(batch.revisions().size(), 1u + kCalls);
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_EQ(batch.revisions()[i + 1].revision, 2u + i);
    EXPECT_EQ(batch.revisions()[i + 1].canary_weight, static_cast<config::BasisPoints>(i + 1)) << "built on the change before it";
  }
  EXPECT_EQ(answered.size(), 1u) << "none answered before its write";
  held.release_save();
  EXPECT_TRUE(held.saves.empty());
  EXPECT_EQ(published, 2) << "once a write";
  ASSERT_EQ(answered.size(), static_cast<std::size_t>(kCalls));
  for (int i = 0; i < kCalls; ++i) EXPECT_EQ(answered[i], 2u + i) << "answered in the order they came";
  const auto& history = service.history();
  EXPECT_EQ(history.current().revision, 1u + kCalls);
  ASSERT_EQ(history.revisions().size(), 1u + kCalls);
  std::uint64_t expected = 1;
  for (const auto& r : history.revisions()) EXPECT_EQ(r.revision, expected++);
  EXPECT_EQ(*view_of(StateStore(state_file()).load(kCalls + 1)).history, history);
}

TEST_F(ControlServiceTest, AChangeAppliedFromACompletionRunsAfterIt) {
  ControlService service(initial_history(10), StateStore(state_file()));
  std::vector<std::uint64_t> answered;
  service.apply(weight_to(1000), [&](ControlService::ApplyResult first) {
    answered.push_back(first.value().revision);
    service.apply(weight_to(2000), [&](ControlService::ApplyResult second) {
      answered.push_back(second.value().revision);
    });
  });
  EXPECT_EQ(answered, (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(service.current().canary_weight, 2000u);
  EXPECT_EQ(service.pending(), 0u);
}

TEST_F(ControlServiceTest, SetHistoryLimitTrimsAndPersists) {
  ControlService service(initial_history(10), StateStore(state_file()));
  for (config::BasisPoints w = 100; w <= 500; w += 100) (void)apply_now(service, weight_to(w));
  std::string error;
  EXPECT_TRUE(set_limit_now(service, 2, error)) << error;
  EXPECT_EQ(service.history().revisions().size(), 2u);
  const auto loaded = view_of(StateStore(state_file()).load(10));
  ASSERT_TRUE(loaded.history);
  EXPECT_EQ(loaded.history->revisions().size(), 2u);
  EXPECT_EQ(loaded.history->current().revision, 6u);
}

TEST_F(ControlServiceTest, SetHistoryLimitKeepsTheBoundWhenTheWriteFails) {
  auto h = initial_history(10);
  h.push((set_weight(h, 100, context(1))).value());
  ControlService service(h, StateStore(dir_.path() + "/missing-dir/state.json"));
  std::string error;
  EXPECT_FALSE(set_limit_now(service, 1, error));
  EXPECT_NE(error.find("missing-dir"), std::string::npos) << error;
  EXPECT_EQ(service.history().revisions().size(), 1u);
  service.set_history_limit(1);  // unchanged: nothing to write, no failure
  EXPECT_TRUE(set_limit_now(service, 1, error));
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
  weights::SaveResult save(const RoutingHistory& h) override {
    if (!(store_.stored_ == known_)) {
      ++store_.conflicts;
      return save_result(SaveResult::Conflict);
    }
    ++store_.saves;
    store_.stored_ = h;
    known_ = h;
    return save_result(SaveResult::Saved);
  }
  LoadedState load(unsigned) override {
    known_ = store_.stored_;
    return loaded_state(store_.stored_);
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

  ASSERT_TRUE((apply_now(a, weight_to(1000))).ok());  // revision 2 at 10 %
  // b still believes revision 1 is current; its write conflicts, it reads revision 2 and builds 3 on it.
  auto r = apply_now(b, weight_to(2500));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().revision, 3u);
  EXPECT_EQ(store.conflicts, 1);
  EXPECT_EQ(store.stored_.current().canary_weight, 2500u);
  ASSERT_EQ(store.stored_.revisions().size(), 3u) << "neither change was lost";
  EXPECT_EQ(published_by_b, (std::vector<std::uint64_t>{3}));
}

TEST(ControlServiceSharedTest, AChangeThatNoLongerAppliesIsRefusedAndTheNewerHistoryKept) {
  SharedStore store(initial_history(10));
  ControlService a(initial_history(10), std::make_unique<SharedBackend>(store, initial_history(10)));
  ControlService b(initial_history(10), std::make_unique<SharedBackend>(store, initial_history(10)));
  ASSERT_TRUE((apply_now(a, [](const RoutingHistory& h) {
    return remove_canary(h, context(1));
  })).ok());
  std::vector<std::uint64_t> published_by_b;
  b.set_on_change([&](const RoutingState& s) { published_by_b.push_back(s.revision); });
  // b's promote conflicts; on revision 2 there is no canary to promote any more.
  auto r = apply_now(b, [](const RoutingHistory& h) { return promote(h, context(2)); });
  ASSERT_TRUE(!r.ok());
  EXPECT_EQ(r.error().kind, TransitionError::Kind::Conflict);
  EXPECT_EQ(b.current().revision, 2u) << "b now holds what the store holds";
  EXPECT_EQ(published_by_b, (std::vector<std::uint64_t>{2})) << "and published it";
}

class AlwaysConflicting : public StateBackend {
 public:
  weights::SaveResult save(const RoutingHistory&) override { return save_result(SaveResult::Conflict); }
  LoadedState load(unsigned) override {
    ++loads;
    return loaded_state(initial_history(10));
  }
  int loads = 0;
};

TEST(ControlServiceSharedTest, EndlessConflictsGiveUpWith503) {
  auto backend = std::make_unique<AlwaysConflicting>();
  auto* raw = backend.get();
  ControlService s(initial_history(10), std::move(backend));
  auto r = apply_now(s, weight_to(1000));
  ASSERT_TRUE(!r.ok());
  EXPECT_EQ(r.error().kind, TransitionError::Kind::Contended);
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
  next.push((set_weight(next, 500, context(3))).value());
  s.adopt(next);
  EXPECT_EQ(published, 1);
  EXPECT_EQ(s.current().canary_weight, 500u);
}

}  // namespace
}  // namespace canaryd::weights

namespace canaryd::weights {
namespace {

/// A ControlService over a backend whose writes wait until the test completes them, and what it published.
class PendingWriteTest : public ::testing::Test {
 protected:
  PendingWriteTest() {
    auto backend = std::make_unique<HeldBackend>();
    held_ = backend.get();
    service_ = std::make_unique<ControlService>(initial_history(10), std::move(backend));
    service_->set_on_change([this](const RoutingState& s) { published_.push_back(s.revision); });
  }

  /// Queues a change; its answer lands in answers_[index] (nullopt while pending).
  std::size_t apply(ControlService::Transition transition) {
    const std::size_t index = answers_.size();
    answers_.emplace_back();
    service_->apply(std::move(transition), [this, index](ControlService::ApplyResult r) { answers_[index] = r; });
    return index;
  }
  std::uint64_t answered_revision(std::size_t index) const {
    EXPECT_TRUE(answers_[index].has_value()) << "change " << index << " not answered";
    if (!answers_[index] || !answers_[index]->ok()) return 0;
    return answers_[index]->value().revision;
  }

  HeldBackend* held_ = nullptr;
  std::unique_ptr<ControlService> service_;
  std::vector<std::uint64_t> published_;
  std::vector<std::optional<ControlService::ApplyResult>> answers_;
};

TEST_F(PendingWriteTest, AChangeBecomesCurrentOnlyOnceStoredAndLaterOnesWait) {
  const auto first = apply(weight_to(1000));
  const auto second = apply(weight_to(2000));
  ASSERT_EQ(held_->saves.size(), 1u) << "the second change waits for the first write";
  EXPECT_EQ(held_->saves.front().history.current().canary_weight, 1000u);
  // Meanwhile reads answer at once, from the state in force.
  EXPECT_EQ(service_->current().revision, 1u);
  EXPECT_EQ(service_->pending(), 2u);
  EXPECT_FALSE(answers_[first].has_value());
  EXPECT_TRUE(published_.empty());

  held_->release_save();
  EXPECT_EQ(answered_revision(first), 2u);
  EXPECT_FALSE(answers_[second].has_value());
  EXPECT_EQ(published_, (std::vector<std::uint64_t>{2}));
  ASSERT_EQ(held_->saves.size(), 1u);
  EXPECT_EQ(held_->saves.front().history.revisions().size(), 3u) << "computed on the history that includes the first";

  held_->release_save();
  EXPECT_EQ(answered_revision(second), 3u);
  EXPECT_EQ(service_->current().canary_weight, 2000u);
  EXPECT_EQ(published_, (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(service_->pending(), 0u);
}

TEST_F(PendingWriteTest, AFailedWriteFailsItsChangeOnlyAndTheNextBuildsOnTheOldState) {
  const auto first = apply(weight_to(1000));
  const auto second = apply(weight_to(2000));
  held_->release_save(SaveResult::Failed, "the API server answered 500");
  ASSERT_TRUE(answers_[first].has_value());
  ASSERT_TRUE(!(*answers_[first]).ok());
  EXPECT_EQ(answers_[first]->error().kind, TransitionError::Kind::StorageFailed);
  EXPECT_EQ(answers_[first]->error().message, "cannot persist state: the API server answered 500");
  EXPECT_EQ(service_->current().revision, 1u) << "nothing changed";
  EXPECT_TRUE(published_.empty());
  ASSERT_EQ(held_->saves.size(), 1u);
  EXPECT_EQ(held_->saves.front().history.current().revision, 2u);
  held_->release_save();
  EXPECT_EQ(answered_revision(second), 2u);
}

TEST_F(PendingWriteTest, AConflictReadsTheNewerStateAndComputesTheChangeAgainInItsTurn) {
  const auto first = apply(weight_to(1000));
  const auto second = apply(weight_to(2000));
  held_->release_save(SaveResult::Conflict);
  ASSERT_EQ(held_->loads.size(), 1u) << "a conflict reads the store again, without blocking";
  EXPECT_TRUE(held_->saves.empty());
  auto theirs = initial_history(10);
  theirs.push((set_weight(theirs, 5000, context(5))).value());  // another replica's revision 2
  held_->release_load(theirs);
  ASSERT_EQ(held_->saves.size(), 1u) << "the first change again, on revision 2";
  EXPECT_EQ(held_->saves.front().history.current().revision, 3u);
  EXPECT_EQ(held_->saves.front().history.revisions()[1].canary_weight, 5000u) << "their revision kept";
  EXPECT_FALSE(answers_[second].has_value()) << "the second still waits";
  held_->release_save();
  EXPECT_EQ(answered_revision(first), 3u);
  EXPECT_EQ(published_, (std::vector<std::uint64_t>{3}));
  held_->release_save();
  EXPECT_EQ(answered_revision(second), 4u);
}

TEST_F(PendingWriteTest, OurOwnWriteSeenByTheWatchFirstIsNotPublishedBackwards) {
  const auto first = apply(weight_to(1000));
  RoutingHistory ours = held_->saves.front().history;
  // The watch delivers our write, then another replica's built on it, before our PUT is answered.
  service_->adopt(ours);
  RoutingHistory later = ours;
  later.push((set_weight(later, 3000, context(4))).value());
  service_->adopt(later);
  held_->release_save();
  EXPECT_EQ(answered_revision(first), 2u) << "the answer describes this change";
  EXPECT_EQ(service_->current().revision, 3u) << "the newer state stays in force";
  EXPECT_EQ(service_->current().canary_weight, 3000u);
  EXPECT_EQ(published_, (std::vector<std::uint64_t>{2, 3}));
}

TEST_F(PendingWriteTest, AChangeThatChangesNothingIsNeitherWrittenNorPublished) {
  const auto same = apply([](const RoutingHistory& h) -> TransitionResult { return h.current(); });
  EXPECT_EQ(answered_revision(same), 1u);
  EXPECT_TRUE(held_->saves.empty());
  EXPECT_TRUE(published_.empty());
  EXPECT_EQ(service_->history().revisions().size(), 1u);
}

TEST_F(PendingWriteTest, ANewHistoryBoundWaitsForThePendingChange) {
  const auto first = apply(weight_to(1000));
  std::optional<bool> stored;
  service_->set_history_limit(1, [&](Result<void> saved) { stored = saved.ok(); });
  EXPECT_EQ(service_->history().limit(), 10u) << "not before its turn";
  held_->release_save();
  EXPECT_EQ(answered_revision(first), 2u);
  EXPECT_EQ(service_->history().revisions().size(), 1u) << "trimmed in memory at once";
  ASSERT_EQ(held_->saves.size(), 1u);
  EXPECT_EQ(held_->saves.front().history.revisions().size(), 1u);
  EXPECT_FALSE(stored.has_value());
  held_->release_save(SaveResult::Conflict);
  ASSERT_TRUE(stored.has_value());
  EXPECT_FALSE(*stored);
  EXPECT_EQ(service_->history().limit(), 1u) << "the bound is kept though the write failed";
}

TEST_F(PendingWriteTest, AHistoryBoundThatCannotBeStoredSaysWhy) {
  (void)apply(weight_to(1000));
  held_->release_save();
  (void)apply(weight_to(2000));
  held_->release_save();  // revisions 1, 2 and 3
  std::vector<std::string> why;
  const auto bound = [&](Result<void> saved) { why.push_back(saved ? "stored" : saved.error().message); };
  service_->set_history_limit(2, bound);
  held_->release_save(SaveResult::Conflict);
  service_->set_history_limit(2, bound);  // nothing left to trim: answered at once
  service_->set_history_limit(1, bound);
  held_->release_save(SaveResult::Failed, "the API server answered 500");
  EXPECT_EQ(why, (std::vector<std::string>{"another replica wrote first", "stored", "the API server answered 500"}));
}


TransitionResult refuse(const RoutingHistory&) {
  return fail(TransitionError{TransitionError::Kind::Conflict, "refused"});
}

TEST_F(PendingWriteTest, ChangesDuringAWriteAreWrittenTogetherAndAnsweredOnlyOnceStored) {
  const auto first = apply(weight_to(1000));
  const auto second = apply(weight_to(2000));
  const auto refused = apply(refuse);
  const auto same = apply([](const RoutingHistory& h) -> TransitionResult { return h.current(); });
  const auto third = apply(weight_to(3000));
  ASSERT_EQ(held_->saves.size(), 1u);
  held_->release_save();
  EXPECT_EQ(answered_revision(first), 2u);
  for (auto later : {second, refused, same, third}) EXPECT_FALSE(answers_[later].has_value()) << later;
  ASSERT_EQ(held_->saves.size(), 1u) << "one write for the four that came meanwhile";
  EXPECT_EQ(held_->saves.front().history.current().revision, 4u);
  EXPECT_EQ(held_->saves.front().history.revisions()[2].canary_weight, 2000u);
  EXPECT_EQ(service_->current().revision, 2u) << "reads show only what is stored";
  held_->release_save();
  EXPECT_EQ(answered_revision(second), 3u);
  ASSERT_TRUE(answers_[refused].has_value());
  EXPECT_EQ(answers_[refused]->error().kind, TransitionError::Kind::Conflict);
  EXPECT_EQ(answered_revision(same), 3u) << "the state the change before it made";
  EXPECT_EQ(answered_revision(third), 4u);
  EXPECT_EQ(published_, (std::vector<std::uint64_t>{2, 4})) << "once a write";
  EXPECT_EQ(service_->writes(), 2u);
  EXPECT_EQ(service_->pending(), 0u);
}

TEST_F(PendingWriteTest, AFailedGroupedWriteFailsEveryAnswerThatRestedOnIt) {
  (void)apply(weight_to(1000));
  const auto refused_before = apply(refuse);
  const auto same_before = apply([](const RoutingHistory& h) -> TransitionResult { return h.current(); });
  const auto second = apply(weight_to(2000));
  const auto same_after = apply([](const RoutingHistory& h) -> TransitionResult { return h.current(); });
  const auto refused_after = apply(refuse);
  held_->release_save();
  ASSERT_EQ(held_->saves.size(), 1u);
  held_->release_save(SaveResult::Failed, "disk full");
  ASSERT_TRUE(answers_[refused_before].has_value());
  EXPECT_EQ(answers_[refused_before]->error().kind, TransitionError::Kind::Conflict) << "computed on stored state";
  EXPECT_EQ(answered_revision(same_before), 2u) << "computed on stored state";
  for (auto rested : {second, same_after, refused_after}) {
    ASSERT_TRUE(answers_[rested].has_value()) << rested;
    ASSERT_FALSE(answers_[rested]->ok()) << rested;
    EXPECT_EQ(answers_[rested]->error().kind, TransitionError::Kind::StorageFailed) << rested;
    EXPECT_EQ(answers_[rested]->error().message, "cannot persist state: disk full") << rested;
  }
  EXPECT_EQ(service_->current().revision, 2u) << "nothing changed";
  EXPECT_EQ(published_, (std::vector<std::uint64_t>{2}));
  EXPECT_TRUE(held_->saves.empty());
  EXPECT_EQ(service_->pending(), 0u);
}

TEST_F(PendingWriteTest, IdleWaitsForEveryChangeOfTheGroupedWrite) {
  (void)apply(weight_to(1000));
  const auto second = apply(weight_to(2000));
  bool idle = false;
  service_->when_idle([&] { idle = true; });
  held_->release_save();
  EXPECT_FALSE(idle) << "the second change's write is under way";
  held_->release_save();
  EXPECT_EQ(answered_revision(second), 3u);
  EXPECT_TRUE(idle);
}

}  // namespace
}  // namespace canaryd::weights
