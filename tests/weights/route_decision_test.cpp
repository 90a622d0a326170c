// Unit tests of decide_route, the one precedence of the routing rules (contract section 8): every
// combination of abort x override header x override cookie x affinity bucket x weight draw x the
// health of both sets, against a reference written as the contract's prose; then named cases.
#include "weights/route_decision.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "weights/affinity.hpp"

namespace canaryd::weights {
namespace {

constexpr config::BasisPoints kWeight = 3000;

/// The contract's prose as a plain if-chain, written apart from decide_route: abort, then the override
/// header, then the override cookie, then affinity, then the weight; a set without a healthy endpoint
/// then falls back to the other; only weight- and affinity-placed requests are evidence.
RouteDecision reference(const RouteFacts& f, bool draw_canary) {
  if (f.canary_aborted) {
    // Nothing reaches an aborted canary: not an override, not a key, not a fallback.
    if (f.stable_healthy) return {RouteSet::Stable, RouteReason::Aborted, false};
    return {RouteSet::None, RouteReason::Aborted, false};
  }
  bool canary = false;
  RouteReason reason = RouteReason::Weight;
  if (f.header == Forced::Canary) {
    canary = true;
    reason = RouteReason::Header;
  } else if (f.header == Forced::Stable) {
    canary = false;
    reason = RouteReason::Header;
  } else if (f.cookie == Forced::Canary) {
    canary = true;
    reason = RouteReason::Cookie;
  } else if (f.cookie == Forced::Stable) {
    canary = false;
    reason = RouteReason::Cookie;
  } else if (f.bucket.has_value()) {
    canary = *f.bucket < f.weight;
    reason = RouteReason::Affinity;
  } else {
    canary = draw_canary;
  }
  const bool evidence = reason == RouteReason::Affinity || reason == RouteReason::Weight;
  if (canary && f.canary_healthy) return {RouteSet::Canary, reason, evidence};
  if (!canary && f.stable_healthy) return {RouteSet::Stable, reason, evidence};
  if (canary && f.stable_healthy) return {RouteSet::Stable, RouteReason::Fallback, false};
  if (!canary && f.canary_healthy) return {RouteSet::Canary, RouteReason::Fallback, false};
  return {RouteSet::None, RouteReason::Fallback, false};
}

std::string describe(const RouteFacts& f, bool draw) {
  auto forced = [](Forced v) { return v == Forced::None ? "none" : v == Forced::Canary ? "always" : "never"; };
  return std::string("aborted=") + (f.canary_aborted ? "1" : "0") + " header=" + forced(f.header) +
         " cookie=" + forced(f.cookie) + " bucket=" + (f.bucket ? std::to_string(*f.bucket) : "none") +
         " draw=" + (draw ? "canary" : "stable") + " stable_healthy=" + (f.stable_healthy ? "1" : "0") +
         " canary_healthy=" + (f.canary_healthy ? "1" : "0");
}

TEST(RouteDecisionTest, EveryCombinationFollowsTheContractsOrder) {
  const Forced overrides[] = {Forced::None, Forced::Canary, Forced::Stable};
  // No key, a key below the weight (canary), at the weight (stable: "below" is strict), far above.
  const std::optional<std::uint32_t> buckets[] = {std::nullopt, kWeight - 1, kWeight, 9999};
  int combinations = 0;
  for (const bool aborted : {false, true}) {
    for (const Forced header : overrides) {
      for (const Forced cookie : overrides) {
        for (const auto& bucket : buckets) {
          for (const bool draw : {false, true}) {
            for (const bool stable_healthy : {false, true}) {
              for (const bool canary_healthy : {false, true}) {
                RouteFacts f;
                f.canary_aborted = aborted;
                f.weight = aborted ? 0 : kWeight;  // an abort sets the weight to 0, as rollback does
                f.header = header;
                f.cookie = cookie;
                f.bucket = bucket;
                f.stable_healthy = stable_healthy;
                f.canary_healthy = canary_healthy;
                int draws = 0;
                const RouteDecision got = decide_route(f, [&] {
                  ++draws;
                  return draw;
                });
                const RouteDecision want = reference(f, draw);
                const std::string what = describe(f, draw);
                ASSERT_EQ(got.set, want.set) << what;
                ASSERT_EQ(got.reason, want.reason) << what;
                ASSERT_EQ(got.evidence, want.evidence) << what;
                // Only a request the weight decides draws, so overrides and keys do not move the split.
                const bool weight_decides = !aborted && header == Forced::None && cookie == Forced::None && !bucket;
                ASSERT_EQ(draws, weight_decides ? 1 : 0) << what;
                ++combinations;
              }
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(combinations, 2 * 3 * 3 * 4 * 2 * 2 * 2);
}

TEST(RouteDecisionTest, AnAbortedCanaryIsReachedEvenWithAWeightByNothing) {
  // Even if a caller passed a weight with the abort, nothing gets through.
  RouteFacts f;
  f.canary_aborted = true;
  f.weight = config::kMaxBasisPoints;
  f.header = Forced::Canary;
  f.cookie = Forced::Canary;
  f.bucket = 0;
  const auto d = decide_route(f, [] { return true; });
  EXPECT_EQ(d.set, RouteSet::Stable);
  EXPECT_EQ(d.reason, RouteReason::Aborted);
  EXPECT_FALSE(d.evidence);
  f.stable_healthy = false;  // no fallback to an aborted canary either: 503
  EXPECT_EQ(decide_route(f, [] { return true; }).set, RouteSet::None);
}

RouteDecision decide(const RouteFacts& f) {
  return decide_route(f, [] { return true; });
}

TEST(RouteDecisionTest, TheHeaderBeatsTheCookie) {
  RouteFacts f;
  f.weight = kWeight;
  f.header = Forced::Stable;
  f.cookie = Forced::Canary;
  EXPECT_EQ(decide(f).set, RouteSet::Stable);
  EXPECT_EQ(decide(f).reason, RouteReason::Header);
  f.header = Forced::Canary;
  f.cookie = Forced::Stable;
  EXPECT_EQ(decide(f).set, RouteSet::Canary);
  EXPECT_EQ(decide(f).reason, RouteReason::Header);
}

TEST(RouteDecisionTest, TheCookieBeatsAffinity) {
  RouteFacts f;
  f.weight = kWeight;
  f.cookie = Forced::Stable;
  f.bucket = 0;  // would be canary
  EXPECT_EQ(decide(f).set, RouteSet::Stable);
  EXPECT_EQ(decide(f).reason, RouteReason::Cookie);
  EXPECT_FALSE(decide(f).evidence);
}

TEST(RouteDecisionTest, AffinityBeatsTheWeightAndIsEvidence) {
  RouteFacts f;
  f.weight = kWeight;
  f.bucket = 9999;
  const auto d = decide_route(f, [] { return true; });  // the draw would say canary
  EXPECT_EQ(d.set, RouteSet::Stable);
  EXPECT_EQ(d.reason, RouteReason::Affinity);
  EXPECT_TRUE(d.evidence);
  f.bucket = kWeight - 1;
  EXPECT_EQ(decide_route(f, [] { return false; }).set, RouteSet::Canary);
}

TEST(RouteDecisionTest, AKeyAtTheWeightsBucketStaysStable) {
  // "below the weight in basis points": bucket == weight is stable, so weight 0 places no key on canary.
  RouteFacts f;
  f.weight = 0;
  f.bucket = 0;
  EXPECT_EQ(decide(f).set, RouteSet::Stable);
  EXPECT_EQ(affinity_canary(0, 0), false);
  EXPECT_EQ(affinity_canary(9999, config::kMaxBasisPoints), true);
}

TEST(RouteDecisionTest, AnUnhealthyChosenSetFallsBackAndIsNotEvidence) {
  RouteFacts f;
  f.weight = kWeight;
  f.bucket = 0;
  f.canary_healthy = false;
  auto d = decide(f);
  EXPECT_EQ(d.set, RouteSet::Stable);
  EXPECT_EQ(d.reason, RouteReason::Fallback);
  EXPECT_FALSE(d.evidence);
  f.header = Forced::Stable;  // a forced set falls back too: an override is no reason for a 503
  f.canary_healthy = true;
  f.stable_healthy = false;
  d = decide(f);
  EXPECT_EQ(d.set, RouteSet::Canary);
  EXPECT_EQ(d.reason, RouteReason::Fallback);
  f.canary_healthy = false;
  EXPECT_EQ(decide(f).set, RouteSet::None);
}

TEST(RouteDecisionTest, OverridesAreNeverEvidence) {
  RouteFacts f;
  f.weight = kWeight;
  f.header = Forced::Canary;
  EXPECT_FALSE(decide(f).evidence);
  f.header = Forced::None;
  f.cookie = Forced::Canary;
  EXPECT_FALSE(decide(f).evidence);
  f.cookie = Forced::None;
  EXPECT_TRUE(decide(f).evidence);  // the weight's draw
}

TEST(RouteDecisionTest, ReasonNamesAreTheContracts) {
  EXPECT_STREQ(reason_name(RouteReason::Header), "header");
  EXPECT_STREQ(reason_name(RouteReason::Cookie), "cookie");
  EXPECT_STREQ(reason_name(RouteReason::Affinity), "affinity");
  EXPECT_STREQ(reason_name(RouteReason::Weight), "weight");
  EXPECT_STREQ(reason_name(RouteReason::Fallback), "fallback");
  EXPECT_STREQ(reason_name(RouteReason::Aborted), "aborted");
}

}  // namespace
}  // namespace canaryd::weights
