// Unit tests of the routing history's bounds and of the state's RFC 3339 time format.
#include "weights/routing_history.hpp"

#include <gtest/gtest.h>

#include "weights/json_text.hpp"
#include "weights/revision_json.hpp"

#include <atomic>
#include <thread>
#include <vector>

namespace canaryd::weights {
namespace {

using namespace std::chrono_literals;

Clock::time_point at(int hour, int minute = 0, int second = 0) {
  return Clock::time_point{std::chrono::sys_days{std::chrono::year{2026} / 11 / 27}} + std::chrono::hours{hour} +
         std::chrono::minutes{minute} + std::chrono::seconds{second};
}

RoutingState state(std::uint64_t revision) {
  RoutingState s;
  s.revision = revision;
  s.canary_weight = 0;
  s.cause = "r" + std::to_string(revision);
  return s;
}

TEST(RoutingTimeTest, FormatsRfc3339Utc) {
  EXPECT_EQ(format_time(at(15)), "2026-11-27T15:00:00Z");
  EXPECT_EQ(format_time(Clock::time_point{}), "1970-01-01T00:00:00Z");
}

TEST(RoutingTimeTest, FormatDropsFractionsOfASecond) {
  EXPECT_EQ(format_time(at(15, 4, 5) + 999ms), "2026-11-27T15:04:05Z");
}

TEST(RoutingTimeTest, ParseReadsWhatFormatPrints) {
  const auto parsed = parse_time("2026-11-27T15:04:05Z");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, at(15, 4, 5));
  EXPECT_EQ(parse_time(format_time(at(23, 59, 59))), at(23, 59, 59));
}

TEST(RoutingTimeTest, ParseRefusesAnythingElse) {
  for (const char* bad : {"", "2026-11-27", "2026-11-27 15:00:00Z", "2026-11-27T15:00:00", "2026-11-27T15:00:00+01:00",
                          "2026-11-27T15:00:00.5Z", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                          "2026-11-27T24:00:00Z", "2026-11-27T15:60:00Z", "2026-11-2aT15:00:00Z", "x026-11-27T15:00:00Z"}) {
    EXPECT_FALSE(parse_time(bad)) << bad;
  }
}

TEST(RoutingTimeTest, FormatIsThreadSafe) {
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &wrong] {
      const auto when = at(t * 5, t, t);
      const auto expected = format_time(when);
      for (int i = 0; i < 2000; ++i) {
        if (format_time(when) != expected) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(RoutingHistoryTest, StartsWithTheInitialStateAsCurrent) {
  RoutingHistory h(state(1), 5);
  EXPECT_EQ(h.current().revision, 1u);
  EXPECT_EQ(h.revisions().size(), 1u);
  EXPECT_EQ(h.previous(), nullptr);
  EXPECT_EQ(h.limit(), 5u);
}

TEST(RoutingHistoryTest, PushTrimsTheOldestBeyondTheLimit) {
  RoutingHistory h(state(1), 3);
  for (std::uint64_t r = 2; r <= 6; ++r) h.push(state(r));
  ASSERT_EQ(h.revisions().size(), 3u);
  EXPECT_EQ(h.revisions().front().revision, 4u);
  EXPECT_EQ(h.current().revision, 6u);
  ASSERT_NE(h.previous(), nullptr);
  EXPECT_EQ(h.previous()->revision, 5u);
}

TEST(RoutingHistoryTest, FindReturnsOnlyKeptRevisions) {
  RoutingHistory h(state(1), 3);
  for (std::uint64_t r = 2; r <= 5; ++r) h.push(state(r));
  EXPECT_EQ(h.find(1), nullptr);
  EXPECT_EQ(h.find(2), nullptr);
  ASSERT_NE(h.find(3), nullptr);
  EXPECT_EQ(h.find(3)->cause, "r3");
  EXPECT_EQ(h.find(99), nullptr);
}

TEST(RoutingHistoryTest, SetLimitTrimsAtOnce) {
  RoutingHistory h(state(1), 10);
  for (std::uint64_t r = 2; r <= 8; ++r) h.push(state(r));
  h.set_limit(2);
  ASSERT_EQ(h.revisions().size(), 2u);
  EXPECT_EQ(h.revisions().front().revision, 7u);
  h.set_limit(5);  // growing brings nothing back, but allows more later
  h.push(state(9));
  EXPECT_EQ(h.revisions().size(), 3u);
}

TEST(RoutingHistoryTest, LimitIsAtLeastOne) {
  RoutingHistory h(state(1), 0);
  EXPECT_EQ(h.limit(), 1u);
  h.push(state(2));
  ASSERT_EQ(h.revisions().size(), 1u);
  EXPECT_EQ(h.current().revision, 2u);
  h.set_limit(0);
  EXPECT_EQ(h.current().revision, 2u);
}

TEST(RoutingHistoryTest, SizeIsBoundedByDroppingTheOldest) {
  // Today's worst case through the API: history_limit 1000, every cause 1,024 bytes.
  RoutingHistory h(state(1), 1000);
  const std::string cause(1024, 'c');
  for (std::uint64_t r = 2; r <= 1000; ++r) {
    RoutingState s = state(r);
    s.cause = cause;
    h.push(std::move(s));
    ASSERT_LE(h.json_bytes(), kMaxHistoryBytes) << "after revision " << r;
  }
  EXPECT_EQ(h.current().revision, 1000u) << "a change is never refused for the history's size";
  EXPECT_LT(h.revisions().size(), 1000u);
  EXPECT_GT(h.revisions().size(), 300u) << "only as many as needed are dropped";
  // Contiguous newest revisions, oldest first.
  std::uint64_t expected = h.revisions().front().revision;
  for (const auto& r : h.revisions()) EXPECT_EQ(r.revision, expected++);
  // The byte count is exact: the revisions as a JSON array are it plus the brackets.
  boost::json::array all;
  for (const auto& r : h.revisions()) all.push_back(revision_to_json(r));
  EXPECT_EQ(to_json_text(all).size(), h.json_bytes() + 2);
}

TEST(RoutingHistoryTest, TheCurrentRevisionStaysWhateverItsSize) {
  RoutingHistory h(state(1), 10);
  RoutingState big = state(2);
  big.cause = std::string(kMaxHistoryBytes + 1, 'x');  // not through the API, which bounds causes
  h.push(big);
  ASSERT_EQ(h.revisions().size(), 1u);
  EXPECT_EQ(h.current(), big);
  h.push(state(3));  // once older, it is the first to go
  ASSERT_EQ(h.revisions().size(), 1u);
  EXPECT_EQ(h.current().revision, 3u);
  EXPECT_EQ(h.json_bytes(), revision_json_size(state(3)));
}

}  // namespace
}  // namespace canaryd::weights
