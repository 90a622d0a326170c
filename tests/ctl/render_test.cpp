// Unit tests of canaryctl's tables and confirmations: alignment, shares, printable server text.
#include "ctl/render.hpp"

#include <gtest/gtest.h>

#include "tests/config/noting_error.hpp"

#include <algorithm>

#include "ctl/table.hpp"

namespace canaryd::ctl {
namespace {

StatusView status_from(std::string_view json) {
  std::string error;
  auto s = noting_error(parse_status(json), error);
  if (!s) ADD_FAILURE() << error;
  return s.value_or(StatusView{});
}

std::vector<RevisionView> history_from(std::string_view json) {
  std::string error;
  auto h = noting_error(parse_history(json), error);
  if (!h) ADD_FAILURE() << error;
  return h.value_or(std::vector<RevisionView>{});
}

constexpr std::string_view kStatus = R"({"revision": 12, "canary_weight": 10.0, "updated_at": "2026-11-27T15:00:00Z",
  "stable": {"selector": "name=nginx,version=v1",
             "endpoints": [{"address": "127.0.0.1:18081", "labels": {}, "healthy": true},
                           {"address": "127.0.0.1:18082", "labels": {}, "healthy": true}]},
  "canary": {"selector": "name=nginx,version=v2",
             "endpoints": [{"address": "127.0.0.1:18084", "labels": {}, "healthy": false}]}})";

TEST(FormatPercentTest, PrintsAtMostTwoDecimals) {
  EXPECT_EQ(format_percent(10.0), "10");
  EXPECT_EQ(format_percent(0), "0");
  EXPECT_EQ(format_percent(100), "100");
  EXPECT_EQ(format_percent(2.5), "2.5");
  EXPECT_EQ(format_percent(33.33), "33.33");
  EXPECT_EQ(format_percent(0.01), "0.01");
  EXPECT_EQ(format_percent(0.1), "0.1");
  EXPECT_EQ(format_percent(100 - 33.33), "66.67");
}

TEST(RenderTableTest, AlignsColumnsTwoSpacesApart) {
  EXPECT_EQ(render_table({{"A", "BB", "C"}, {"AAA", "B", ""}, {"x"}}),
            "A    BB  C\n"
            "AAA  B\n"
            "x\n");
}

TEST(RenderStatusTest, ShowsBothSetsWithSharesAndHealth) {
  EXPECT_EQ(render_status(status_from(kStatus)),
            "REVISION  12        UPDATED  2026-11-27T15:00:00Z\n"
            "CANARY WEIGHT  10%\n"
            "\n"
            "SET     SELECTOR               SHARE  ENDPOINTS\n"
            "stable  name=nginx,version=v1  90%    127.0.0.1:18081 (healthy), 127.0.0.1:18082 (healthy)\n"
            "canary  name=nginx,version=v2  10%    127.0.0.1:18084 (unhealthy)\n");
}

TEST(RenderStatusTest, SharesKeepTwoDecimals) {
  auto s = status_from(kStatus);
  s.canary_weight = 33.33;
  const auto text = render_status(s);
  EXPECT_NE(text.find("CANARY WEIGHT  33.33%\n"), std::string::npos) << text;
  EXPECT_NE(text.find("66.67%"), std::string::npos) << text;
}

TEST(RenderStatusTest, ShowsNoneWithoutCanary) {
  EXPECT_EQ(render_status(status_from(R"({"revision": 3, "canary_weight": 0, "updated_at": "2026-11-27T15:00:00Z",
      "stable": {"selector": "name=nginx,version=v2", "endpoints": []}, "canary": null})")),
            "REVISION  3         UPDATED  2026-11-27T15:00:00Z\n"
            "CANARY WEIGHT  0%\n"
            "\n"
            "SET     SELECTOR               SHARE  ENDPOINTS\n"
            "stable  name=nginx,version=v2  100%   <none>\n"
            "canary  <none>\n");
}

TEST(RenderHistoryTest, OneRowPerRevisionOldestFirst) {
  auto h = history_from(R"({"revisions": [
    {"revision": 1, "time": "2026-11-27T14:00:00Z", "canary_weight": 0, "stable": "name=nginx,version=v1",
     "canary": "name=nginx,version=v2", "cause": ""},
    {"revision": 2, "time": "2026-11-27T14:05:00Z", "canary_weight": 20.0, "stable": "name=nginx,version=v1",
     "canary": "name=nginx,version=v2", "cause": "canaryctl weight 20"},
    {"revision": 3, "time": "2026-11-27T14:10:00Z", "canary_weight": 0, "stable": "name=nginx,version=v2",
     "canary": null, "cause": "canaryctl promote"}]})");
  EXPECT_EQ(render_history(h),
            "REVISION  WEIGHT  STABLE                 CANARY                 CHANGE-CAUSE\n"
            "1         0%      name=nginx,version=v1  name=nginx,version=v2  <none>\n"
            "2         20%     name=nginx,version=v1  name=nginx,version=v2  canaryctl weight 20\n"
            "3         0%      name=nginx,version=v2  <none>                 canaryctl promote\n");
}

TEST(RenderHistoryTest, ACauseCannotForgeARowOrDriveTheTerminal) {
  auto h = history_from(R"({"revisions": [
    {"revision": 7, "time": "2026-11-27T14:00:00Z", "canary_weight": 0, "stable": "name=nginx,version=v1",
     "canary": null, "cause": "x\n8         100%    name=nginx,version=evil  <none>  forged\u001b[2J\t\r\u009b"}]})");
  const std::string out = render_history(h);
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_EQ(out.find('\r'), std::string::npos);
  EXPECT_EQ(out.find('\t'), std::string::npos);
  EXPECT_EQ(out.find("\xC2\x9B"), std::string::npos);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << "the header and one row: " << out;
  EXPECT_NE(out.find("x\\n8         100%"), std::string::npos) << out;
  EXPECT_NE(out.find("forged\\x1b[2J\\t\\r\\u009b"), std::string::npos) << out;
}

TEST(RenderStatusTest, SelectorsAndPodsArePrintable) {
  auto s = status_from(R"({"revision": 1, "canary_weight": 0,
    "stable": {"selector": "a\u001b[31m", "endpoints": [{"address": "1.2.3.4:80", "pod": "p\nq", "healthy": true}]},
    "canary": null})");
  const std::string out = render_status(s);
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_NE(out.find("a\\x1b[31m"), std::string::npos) << out;
  EXPECT_NE(out.find("p\\nq 1.2.3.4:80"), std::string::npos) << out;
}

TEST(RenderHistoryTest, EmptyHistoryIsJustTheHeader) {
  EXPECT_EQ(render_history({}), "REVISION  WEIGHT  STABLE  CANARY  CHANGE-CAUSE\n");
}

TEST(RenderConfirmationTest, NamesTheNewState) {
  auto s = status_from(kStatus);
  s.revision = 5;
  s.canary_weight = 20;
  EXPECT_EQ(render_confirmation(Command::Weight, s), "canary weight set to 20% (revision 5)\n");
  s.canary_weight = 0;
  EXPECT_EQ(render_confirmation(Command::Rollback, s), "rolled back: canary weight 0% (revision 5)\n");
  EXPECT_EQ(render_confirmation(Command::CanarySet, s), "canary set to name=nginx,version=v2 at 0% (revision 5)\n");
  s.canary_weight = 10;
  EXPECT_EQ(render_confirmation(Command::Undo, s),
            "undone: now revision 5 (weight 10%, stable name=nginx,version=v1, canary name=nginx,version=v2)\n");

  s.stable.selector = "name=nginx,version=v2";
  s.canary.reset();
  s.canary_weight = 0;
  EXPECT_EQ(render_confirmation(Command::Promote, s), "promoted: stable is now name=nginx,version=v2 (revision 5)\n");
  EXPECT_EQ(render_confirmation(Command::CanaryRemove, s), "canary removed (revision 5)\n");
  EXPECT_EQ(render_confirmation(Command::Undo, s),
            "undone: now revision 5 (weight 0%, stable name=nginx,version=v2, canary <none>)\n");
}

TEST(RenderStatusTest, SaysWhenTheCanaryIsAborted) {
  auto s = status_from(kStatus);
  EXPECT_EQ(render_status(s).find("ABORTED"), std::string::npos);
  s.aborted = true;
  s.canary_weight = 0;
  const auto text = render_status(s);
  EXPECT_NE(text.find("CANARY WEIGHT  0%  ABORTED"), std::string::npos) << text;
}

TEST(RenderStatusTest, ReadsTheAbortFlagFromTheStatus) {
  EXPECT_FALSE(status_from(kStatus).aborted);
  EXPECT_TRUE(status_from(R"({"revision": 3, "canary_weight": 0, "updated_at": "2026-11-27T15:00:00Z", "aborted": true,
      "stable": {"selector": "name=nginx,version=v1", "endpoints": []},
      "canary": {"selector": "name=nginx,version=v2", "endpoints": []}})").aborted);
}

}  // namespace
}  // namespace canaryd::ctl
