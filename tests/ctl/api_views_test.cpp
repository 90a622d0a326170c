// Unit tests of reading the server's status and history documents and of refusal messages.
#include "ctl/api_views.hpp"

#include <gtest/gtest.h>

#include "tests/config/noting_error.hpp"

namespace canaryd::ctl {
namespace {

constexpr std::string_view kStatus = R"({"revision": 12, "canary_weight": 10.0, "updated_at": "2026-11-27T15:00:00Z",
  "stable": {"selector": "name=nginx,version=v1",
             "endpoints": [{"address": "127.0.0.1:18081", "labels": {"name": "nginx", "version": "v1"}, "healthy": true},
                           {"address": "127.0.0.1:18082", "labels": {"name": "nginx", "version": "v1"}, "healthy": false}]},
  "canary": {"selector": "name=nginx,version=v2", "endpoints": []}})";

TEST(ParseStatusTest, ReadsTheContractDocument) {
  std::string error;
  auto s = noting_error(parse_status(kStatus), error);
  ASSERT_TRUE(s.ok()) << error;
  EXPECT_EQ(s->revision, 12u);
  EXPECT_EQ(s->canary_weight, 10.0);
  EXPECT_EQ(s->updated_at, "2026-11-27T15:00:00Z");
  EXPECT_EQ(s->stable.selector, "name=nginx,version=v1");
  ASSERT_EQ(s->stable.endpoints.size(), 2u);
  EXPECT_EQ(s->stable.endpoints[1].address, "127.0.0.1:18082");
  EXPECT_FALSE(s->stable.endpoints[1].healthy);
  ASSERT_TRUE(s->canary.has_value());
  EXPECT_TRUE(s->canary->endpoints.empty());
}

TEST(ParseStatusTest, NullCanaryMeansNone) {
  std::string error;
  auto s = noting_error(parse_status(R"({"revision": 1, "canary_weight": 0, "stable": {"selector": "a=b"}, "canary": null})"), error);
  ASSERT_TRUE(s.ok()) << error;
  EXPECT_FALSE(s->canary.has_value());
  EXPECT_TRUE(s->updated_at.empty());
}

TEST(ParseStatusTest, ExplainsWhatIsWrong) {
  std::string error;
  EXPECT_FALSE(noting_error(parse_status("<html>"), error).ok());
  EXPECT_NE(error.find("not JSON"), std::string::npos);
  EXPECT_FALSE(noting_error(parse_status("[]"), error).ok());
  EXPECT_EQ(error, "status is not an object");
  EXPECT_FALSE(noting_error(parse_status(R"({"canary_weight": 1, "stable": {"selector": "a=b"}})"), error).ok());
  EXPECT_EQ(error, "status has no \"revision\"");
  EXPECT_FALSE(noting_error(parse_status(R"({"revision": "x", "canary_weight": 1, "stable": {"selector": "a"}})"), error));
  EXPECT_EQ(error, "status.revision is not a revision number");
  EXPECT_FALSE(noting_error(parse_status(R"({"revision": 1, "canary_weight": 1, "stable": {}})"), error).ok());
  EXPECT_EQ(error, "stable has no \"selector\"");
}

TEST(ParseHistoryTest, KeepsTheServersOrder) {
  std::string error;
  auto h = noting_error(parse_history(R"({"revisions": [
    {"revision": 3, "time": "t3", "canary_weight": 10.0, "stable": "a=1", "canary": "a=2", "cause": ""},
    {"revision": 4, "time": "t4", "canary_weight": 0, "stable": "a=2", "canary": null, "cause": "canaryctl promote"}]})"), error);
  ASSERT_TRUE(h.ok()) << error;
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].revision, 3u);
  EXPECT_EQ((*h)[0].canary, "a=2");
  EXPECT_EQ((*h)[1].cause, "canaryctl promote");
  EXPECT_FALSE((*h)[1].canary.has_value());
}

TEST(ParseHistoryTest, RefusesAnythingElse) {
  std::string error;
  EXPECT_FALSE(noting_error(parse_history(R"({"revision": 1})"), error).ok());
  EXPECT_EQ(error, "history has no \"revisions\"");
  EXPECT_FALSE(noting_error(parse_history(R"({"revisions": {}})"), error).ok());
  EXPECT_FALSE(noting_error(parse_history(R"({"revisions": [{"revision": 1}]})"), error).ok());
}

TEST(RefusalMessageTest, PrintsTheServersError) {
  EXPECT_EQ(refusal_message(400, "Bad Request", R"({"error": "canary_weight: 200 is not between 0 and 100"})"),
            "canary_weight: 200 is not between 0 and 100");
}

TEST(RefusalMessageTest, FallsBackToTheStatusLineAndFirstLine) {
  EXPECT_EQ(refusal_message(502, "Bad Gateway", "<html>bad gateway</html>\n<p>x</p>"),
            "HTTP 502 Bad Gateway: <html>bad gateway</html>");
  EXPECT_EQ(refusal_message(404, "Not Found", ""), "HTTP 404 Not Found");
  EXPECT_EQ(refusal_message(400, "", R"({"message": "x"})"), R"(HTTP 400: {"message": "x"})");
  EXPECT_EQ(refusal_message(500, "", std::string(300, 'x')), "HTTP 500: " + std::string(200, 'x') + "...");
}

TEST(IsJsonTest, TellsJsonFromText) {
  EXPECT_TRUE(is_json(R"({"error": "x"})"));
  EXPECT_TRUE(is_json("[1]"));
  EXPECT_FALSE(is_json("<html>"));
  EXPECT_FALSE(is_json(""));
}

}  // namespace
}  // namespace canaryd::ctl
