// Unit tests of the affinity salt in the routing state (contract section 8): a new canary draws a new
// salt, the same canary keeps it, undo restores the target revision's, every other change keeps it;
// every context draws a fresh one; the state file round-trips every 64-bit salt exactly and reads files
// without one as 0.
#include <gtest/gtest.h>

#include <set>

#include "tests/weights/test_support.hpp"
#include "weights/control_service.hpp"
#include "weights/json_text.hpp"
#include "weights/revision_json.hpp"
#include "weights/transitions.hpp"

namespace canaryd::weights {
namespace {

using test_support::at;
using test_support::sel;

constexpr std::uint64_t kFirstSalt = 0x1111111111111111ULL;

class AffinitySaltTest : public ::testing::Test {
 protected:
  AffinitySaltTest() : history_(initial(), 10) {
    ctx_.service_selector = sel("name=nginx");
    ctx_.endpoint_labels = {{{"name", "nginx"}, {"version", "v1"}}, {{"name", "nginx"}, {"version", "v2"}},
                            {{"name", "nginx"}, {"version", "v3"}}};
    ctx_.now = at(1);
    ctx_.fresh_salt = 0xa0;
  }

  static RoutingState initial() {
    RoutingState s;
    s.stable = sel("version=v1");
    s.canary = sel("version=v2");
    s.canary_weight = 1000;
    s.affinity_salt = kFirstSalt;
    s.time = at(0);
    return s;
  }

  /// Applies a successful transition as ControlService would; the next call draws another salt.
  std::uint64_t accept(const TransitionResult& r) {
    EXPECT_TRUE(r.ok()) << (!r.ok() ? r.error().message : "");
    if (r.ok()) history_.push(r.value());
    ctx_.now += std::chrono::minutes{1};
    ++ctx_.fresh_salt;
    return history_.current().affinity_salt;
  }

  RoutingHistory history_;
  TransitionContext ctx_;
};

TEST_F(AffinitySaltTest, ANewCanaryDrawsANewSalt) {
  EXPECT_EQ(accept(define_canary(history_, sel("version=v3"), 500, ctx_)), 0xa0u);
}

TEST_F(AffinitySaltTest, TheSameCanaryAgainKeepsItsSalt) {
  // Re-sending the current definition (a script, or after an abort) must not reshuffle its users.
  EXPECT_EQ(accept(define_canary(history_, sel("version=v2"), 3000, ctx_)), kFirstSalt);
  accept(rollback(history_, ctx_));
  const auto same = define_canary(history_, sel("version=v2"), 1000, ctx_);
  EXPECT_EQ(accept(same), kFirstSalt);
}

TEST_F(AffinitySaltTest, ANewCanaryAfterARemoveDrawsANewSalt) {
  EXPECT_EQ(accept(remove_canary(history_, ctx_)), kFirstSalt);  // no canary: the salt does not matter
  EXPECT_EQ(accept(define_canary(history_, sel("version=v2"), 1000, ctx_)), 0xa1u);
}

TEST_F(AffinitySaltTest, WeightRollbackAndPromoteKeepTheSalt) {
  EXPECT_EQ(accept(set_weight(history_, 5000, ctx_)), kFirstSalt);
  EXPECT_EQ(accept(rollback(history_, ctx_)), kFirstSalt);
  EXPECT_EQ(accept(set_weight(history_, 2000, ctx_)), kFirstSalt);
  EXPECT_EQ(accept(promote(history_, ctx_)), kFirstSalt);
}

TEST_F(AffinitySaltTest, UndoRestoresTheSaltOfItsTarget) {
  accept(define_canary(history_, sel("version=v3"), 500, ctx_));  // revision 2, salt 0xa0
  EXPECT_EQ(accept(undo(history_, std::nullopt, ctx_)), kFirstSalt);  // back to v2's users
  EXPECT_EQ(accept(undo(history_, std::nullopt, ctx_)), 0xa0u);       // and to v3's again
  EXPECT_EQ(accept(undo(history_, 1, ctx_)), kFirstSalt);
}

TEST_F(AffinitySaltTest, UndoOfARollbackPutsTheSameUsersBackOnTheCanary) {
  accept(set_weight(history_, 3000, ctx_));
  accept(rollback(history_, ctx_));
  const auto before = history_.find(2);
  ASSERT_NE(before, nullptr);
  EXPECT_EQ(accept(undo(history_, 2, ctx_)), before->affinity_salt);
  EXPECT_EQ(history_.current().canary_weight, 3000u);
}

TEST_F(AffinitySaltTest, EveryContextDrawsAFreshSalt) {
  std::set<std::uint64_t> salts;
  for (int i = 0; i < 50; ++i) salts.insert(transition_context(ServiceView{}, "", at(0)).fresh_salt);
  EXPECT_EQ(salts.size(), 50u);
  EXPECT_NE(random_affinity_salt(), random_affinity_salt());
}

RoutingState round_trip(const RoutingState& s) {
  // Through the text, as the state file and the ConfigMap hold it.
  const auto parsed = parse_json(to_json_text(revision_to_json(s)));
  EXPECT_TRUE(parsed.ok());
  auto back = revision_from_json(parsed.ok() ? *parsed : boost::json::value{}, "r");
  EXPECT_TRUE(back.ok()) << (back ? "" : back.error().message);
  return back.value_or(RoutingState{});
}

TEST(AffinitySaltJsonTest, EverySaltRoundTripsExactly) {
  RoutingState s;
  s.stable = sel("version=v1");
  s.canary = sel("version=v2");
  for (const std::uint64_t salt : {0ULL, 1ULL, (1ULL << 53) + 1, 0xfedcba9876543210ULL, ~0ULL}) {
    s.affinity_salt = salt;
    EXPECT_EQ(round_trip(s), s) << salt;
  }
  s.affinity_salt = 0xfedcba9876543210ULL;
  EXPECT_EQ(revision_to_json(s).at("affinity_salt"), "fedcba9876543210");
}

TEST(AffinitySaltJsonTest, AFileWithoutASaltReadsAsZero) {
  RoutingState s;
  s.stable = sel("version=v1");
  const auto o = revision_to_json(s);
  EXPECT_FALSE(o.contains("affinity_salt"));  // a state without one is written as before
  EXPECT_EQ(round_trip(s).affinity_salt, 0u);
}

TEST(AffinitySaltJsonTest, RefusesASaltThatIsNotHex) {
  RoutingState s;
  s.stable = sel("version=v1");
  for (const boost::json::value& bad : {boost::json::value(12), boost::json::value(""), boost::json::value("xyz"),
                                       boost::json::value("00000000000000001"), boost::json::value("-1")}) {
    auto o = revision_to_json(s);
    o["affinity_salt"] = bad;
    const auto r = revision_from_json(o, "r");
    ASSERT_FALSE(r.ok()) << boost::json::serialize(bad);
    EXPECT_EQ(r.error().message, "r.affinity_salt: must be a string of 1 to 16 hex digits");
  }
}

}  // namespace
}  // namespace canaryd::weights
