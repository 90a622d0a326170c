// Unit tests of the routing transitions: each change, its refusals, and unchanged results.
#include "weights/transitions.hpp"

#include <gtest/gtest.h>

#include "tests/weights/test_support.hpp"

namespace canaryd::weights {
namespace {

using test_support::at;
using test_support::sel;

class TransitionsTest : public ::testing::Test {
 protected:
  TransitionsTest() : history_(initial(), 10) {
    ctx_.service_selector = sel("name=nginx");
    ctx_.endpoint_labels = {{{"name", "nginx"}, {"version", "v1"}},
                            {{"name", "nginx"}, {"version", "v1"}},
                            {{"name", "nginx"}, {"version", "v2"}},
                            {{"name", "other"}, {"version", "v3"}}};
    ctx_.cause = "test";
    ctx_.now = at(1);
  }

  static RoutingState initial() {
    RoutingState s;
    s.revision = 1;
    s.stable = sel("version=v1");
    s.canary = sel("version=v2");
    s.canary_weight = 0;
    s.cause = "initial";
    s.time = at(0);
    return s;
  }

  /// Applies a successful transition to the history, as ControlService would.
  const RoutingState& accept(const TransitionResult& r) {
    EXPECT_TRUE(r.ok())
        << (!r.ok() ? r.error().message : "");
    history_.push(r.value());
    ctx_.now += std::chrono::minutes{1};
    return history_.current();
  }

  static TransitionError refused(const TransitionResult& r) {
    EXPECT_TRUE(!r.ok());
    return !r.ok() ? r.error() : TransitionError{};
  }

  void drop_canary() { accept(remove_canary(history_, ctx_)); }

  /// The result is the current state itself: same revision, time and cause (nothing to record).
  void expect_unchanged(const TransitionResult& r) {
    ASSERT_TRUE(r.ok())
        << (!r.ok() ? r.error().message : "");
    EXPECT_EQ(r.value(), history_.current());
  }

  RoutingHistory history_;
  TransitionContext ctx_;
};

TEST_F(TransitionsTest, SetWeightMakesANewRevision) {
  const auto r = set_weight(history_, 1000, ctx_);
  ASSERT_TRUE(r.ok());
  const auto& s = r.value();
  EXPECT_EQ(s.revision, 2u);
  EXPECT_EQ(s.canary_weight, 1000u);
  EXPECT_EQ(s.stable, sel("version=v1"));
  EXPECT_EQ(s.canary, sel("version=v2"));
  EXPECT_EQ(s.cause, "test");
  EXPECT_EQ(s.time, at(1));
  EXPECT_EQ(history_.current().revision, 1u) << "transitions are pure";
}

TEST_F(TransitionsTest, SetWeightWithoutCanaryIsAConflict) {
  drop_canary();
  EXPECT_EQ(refused(set_weight(history_, 1000, ctx_)).kind, TransitionError::Kind::Conflict);
}

TEST_F(TransitionsTest, SetWeightAboveFullIsBadInput) {
  EXPECT_EQ(refused(set_weight(history_, 10001, ctx_)).kind, TransitionError::Kind::InvalidArgument);
}

TEST_F(TransitionsTest, PromoteMakesTheCanaryStable) {
  accept(set_weight(history_, 5000, ctx_));
  const auto& s = accept(promote(history_, ctx_));
  EXPECT_EQ(s.revision, 3u);
  EXPECT_EQ(s.stable, sel("version=v2"));
  EXPECT_FALSE(s.canary);
  EXPECT_EQ(s.canary_weight, 0u);
}

TEST_F(TransitionsTest, PromoteWithoutCanaryIsAConflict) {
  drop_canary();
  EXPECT_EQ(refused(promote(history_, ctx_)).kind, TransitionError::Kind::Conflict);
}

TEST_F(TransitionsTest, PromoteOfACanaryWithoutEndpointsIsAConflict) {
  accept(define_canary(history_, sel("version=v9"), 0, ctx_));
  const auto err = refused(promote(history_, ctx_));
  EXPECT_EQ(err.kind, TransitionError::Kind::Conflict);
  EXPECT_NE(err.message.find("version=v9"), std::string::npos) << err.message;
}

TEST_F(TransitionsTest, PromoteCountsOnlyEndpointsOfTheService) {
  // version=v3 exists, but on an endpoint outside name=nginx.
  accept(define_canary(history_, sel("version=v3"), 0, ctx_));
  EXPECT_EQ(refused(promote(history_, ctx_)).kind, TransitionError::Kind::Conflict);
}

TEST_F(TransitionsTest, RollbackZeroesTheWeightAndKeepsTheCanary) {
  accept(set_weight(history_, 2500, ctx_));
  const auto& s = accept(rollback(history_, ctx_));
  EXPECT_EQ(s.canary_weight, 0u);
  EXPECT_EQ(s.canary, sel("version=v2"));
  EXPECT_EQ(s.revision, 3u);
}

TEST_F(TransitionsTest, RollbackWithoutCanaryIsAConflict) {
  drop_canary();
  EXPECT_EQ(refused(rollback(history_, ctx_)).kind, TransitionError::Kind::Conflict);
}

TEST_F(TransitionsTest, UndoTogglesBetweenTheLastTwoRevisions) {
  accept(set_weight(history_, 1000, ctx_));                      // r2: 10
  accept(set_weight(history_, 5000, ctx_));                      // r3: 50
  EXPECT_EQ(accept(undo(history_, std::nullopt, ctx_)).canary_weight, 1000u);  // r4: 10
  EXPECT_EQ(accept(undo(history_, std::nullopt, ctx_)).canary_weight, 5000u);  // r5: 50
  const auto& first = accept(undo(history_, 1, ctx_));                         // r6: 0
  EXPECT_EQ(first.canary_weight, 0u);
  EXPECT_EQ(first.revision, 6u);
  EXPECT_EQ(first.cause, "test");
}

TEST_F(TransitionsTest, UndoRestoresSelectors) {
  accept(set_weight(history_, 3000, ctx_));  // r2
  accept(promote(history_, ctx_));           // r3: stable v2, no canary
  const auto& s = accept(undo(history_, 2, ctx_));
  EXPECT_EQ(s.stable, sel("version=v1"));
  EXPECT_EQ(s.canary, sel("version=v2"));
  EXPECT_EQ(s.canary_weight, 3000u);
  EXPECT_EQ(s.revision, 4u);
}

TEST_F(TransitionsTest, UndoToAnUnknownRevisionIsNotFound) {
  accept(set_weight(history_, 1000, ctx_));
  const auto err = refused(undo(history_, 42, ctx_));
  EXPECT_EQ(err.kind, TransitionError::Kind::NotFound);
  EXPECT_EQ(err.message, "revision 42 not found in history");
}

TEST_F(TransitionsTest, UndoToATrimmedRevisionIsNotFound) {
  history_.set_limit(2);
  accept(set_weight(history_, 1000, ctx_));
  accept(set_weight(history_, 2000, ctx_));
  EXPECT_EQ(refused(undo(history_, 1, ctx_)).kind, TransitionError::Kind::NotFound);
}

TEST_F(TransitionsTest, UndoWithoutAPreviousRevisionIsAConflict) {
  EXPECT_EQ(refused(undo(history_, std::nullopt, ctx_)).kind, TransitionError::Kind::Conflict);
}

TEST_F(TransitionsTest, DefineCanaryReplacesTheCanary) {
  accept(set_weight(history_, 1000, ctx_));
  const auto& s = accept(define_canary(history_, sel("version=v3"), 500, ctx_));
  EXPECT_EQ(s.canary, sel("version=v3"));
  EXPECT_EQ(s.canary_weight, 500u);
  EXPECT_EQ(s.stable, sel("version=v1"));
}

TEST_F(TransitionsTest, DefineCanaryWithoutACanaryBefore) {
  drop_canary();
  const auto& s = accept(define_canary(history_, sel("version in (v2,v3)"), 0, ctx_));
  EXPECT_EQ(s.canary, sel("version in (v2,v3)"));
}

TEST_F(TransitionsTest, DefineCanaryOverlappingStableIsAConflict) {
  for (const char* overlapping : {"version=v1", "tier=web", "version in (v1,v2)", "version", "!track"}) {
    const auto err = refused(define_canary(history_, sel(overlapping), 0, ctx_));
    EXPECT_EQ(err.kind, TransitionError::Kind::Conflict) << overlapping;
  }
  EXPECT_EQ(history_.current().revision, 1u);
}

TEST_F(TransitionsTest, RemoveCanaryClearsItAndItsWeight) {
  accept(set_weight(history_, 1000, ctx_));
  const auto& s = accept(remove_canary(history_, ctx_));
  EXPECT_FALSE(s.canary);
  EXPECT_EQ(s.canary_weight, 0u);
  EXPECT_EQ(s.stable, sel("version=v1"));
}

TEST_F(TransitionsTest, RemoveCanaryWithoutCanaryChangesNothing) {
  drop_canary();
  expect_unchanged(remove_canary(history_, ctx_));
}

TEST_F(TransitionsTest, AChangeThatRoutesAsNowIsTheCurrentStateItself) {
  accept(set_weight(history_, 2500, ctx_));  // r2
  expect_unchanged(set_weight(history_, 2500, ctx_));
  expect_unchanged(define_canary(history_, sel("version=v2"), 2500, ctx_));
  accept(rollback(history_, ctx_));  // r3
  expect_unchanged(rollback(history_, ctx_));
  accept(set_weight(history_, 0, ctx_));  // r4: the same 0 ends the abort (contract section 7)
  expect_unchanged(set_weight(history_, 0, ctx_));
  expect_unchanged(undo(history_, 1, ctx_));  // r1 routed as r4 does
  // Any difference is a change: the weight, the canary selector, or the stable one.
  EXPECT_EQ(accept(set_weight(history_, 1, ctx_)).revision, 5u);
  EXPECT_EQ(accept(define_canary(history_, sel("version=v3"), 1, ctx_)).revision, 6u);
  EXPECT_EQ(accept(undo(history_, std::nullopt, ctx_)).revision, 7u);
}

TEST_F(TransitionsTest, HistoryKeepsOnlyTheNewestRevisions) {
  history_.set_limit(3);
  for (config::BasisPoints w = 100; w <= 1000; w += 100) accept(set_weight(history_, w, ctx_));
  ASSERT_EQ(history_.revisions().size(), 3u);
  EXPECT_EQ(history_.revisions().front().revision, 9u);
  EXPECT_EQ(history_.current().revision, 11u);
}

TEST(SetsDisjointTest, UsesTheServiceSelector) {
  EXPECT_TRUE(sets_disjoint(sel("name=nginx"), sel("version=v1"), sel("version=v2")));
  EXPECT_TRUE(sets_disjoint(sel("name=nginx"), sel("version=v1"), sel("version!=v1")));
  EXPECT_FALSE(sets_disjoint(sel("name=nginx"), sel("version=v1"), sel("tier=web")));
  // The service selector alone can make two sets disjoint (both sets are empty there).
  EXPECT_TRUE(sets_disjoint(sel("!version"), sel("version=v1"), sel("tier=web")));
}

// The promote gate (contract section 7): a canary whose endpoints are all down is not promoted unless
// forced. In the fixture the one v2 endpoint is the third.
TEST_F(TransitionsTest, PromoteOfACanaryWithoutAHealthyEndpointIsAConflict) {
  ctx_.endpoint_healthy = {true, true, false, true};
  const auto err = refused(promote(history_, ctx_));
  EXPECT_EQ(err.kind, TransitionError::Kind::Conflict);
  EXPECT_NE(err.message.find("no healthy endpoint"), std::string::npos) << err.message;
}

TEST_F(TransitionsTest, ForcedPromoteOfACanaryWithoutAHealthyEndpointPromotes) {
  ctx_.endpoint_healthy = {true, true, false, true};
  const auto& s = accept(promote(history_, ctx_, true));
  EXPECT_EQ(s.stable, sel("version=v2"));
  EXPECT_FALSE(s.canary);
}

TEST_F(TransitionsTest, TheGateLooksOnlyAtTheCanarysEndpoints) {
  ctx_.endpoint_healthy = {false, false, true, false};  // stable down, canary up
  EXPECT_EQ(accept(promote(history_, ctx_)).stable, sel("version=v2"));
}

TEST_F(TransitionsTest, ForceDoesNotPromoteACanaryWithoutAnyEndpoint) {
  accept(define_canary(history_, sel("version=v9"), 0, ctx_));
  EXPECT_EQ(refused(promote(history_, ctx_, true)).kind, TransitionError::Kind::Conflict);
}

// Abort means zero: rollback sets the flag, a second rollback changes nothing, a weight clears it.
TEST_F(TransitionsTest, RollbackAbortsAndASecondRollbackIsUnchanged) {
  accept(set_weight(history_, 2500, ctx_));
  EXPECT_FALSE(history_.current().aborted);
  const auto& s = accept(rollback(history_, ctx_));
  EXPECT_TRUE(s.aborted);
  expect_unchanged(rollback(history_, ctx_));
}

TEST_F(TransitionsTest, RollbackAtWeightZeroStillAborts) {
  const auto& s = accept(rollback(history_, ctx_));  // r1 has weight 0 already
  EXPECT_EQ(s.revision, 2u);
  EXPECT_TRUE(s.aborted);
}

TEST_F(TransitionsTest, TheSameZeroWeightAfterAnAbortClearsItAsANewRevision) {
  accept(rollback(history_, ctx_));
  const auto r = set_weight(history_, 0, ctx_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().revision, history_.current().revision + 1);
  EXPECT_FALSE(r.value().aborted);
}

TEST_F(TransitionsTest, DefineCanaryUndoAndPromoteClearTheAbort) {
  accept(set_weight(history_, 1000, ctx_));
  accept(rollback(history_, ctx_));
  EXPECT_FALSE(define_canary(history_, sel("version=v3"), 0, ctx_).value().aborted);
  EXPECT_FALSE(undo(history_, std::nullopt, ctx_).value().aborted);
  EXPECT_FALSE(promote(history_, ctx_).value().aborted);
  // Undo to the aborted revision itself restores its weight, not the abort.
  accept(set_weight(history_, 500, ctx_));
  EXPECT_FALSE(accept(undo(history_, 3, ctx_)).aborted);
}

}  // namespace
}  // namespace canaryd::weights
