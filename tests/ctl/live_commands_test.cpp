// Unit tests of canaryctl's repeating commands with a scripted server and a fake clock: `status
// --watch` frames (appended, or redrawn on a terminal), `rollout status --watch` stopping at the end,
// and `wait`'s exit statuses (reached, aborted, timed out, unreachable, a restart waited out).
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <sstream>

#include "ctl/app.hpp"

namespace canaryd::ctl {
namespace {

/// Answers per path from a script: each call takes the next answer, the last one repeats.
class ScriptedServer final : public Transport {
 public:
  void script(const std::string& path, std::vector<TransportResult> answers) {
    answers_[path] = std::deque<TransportResult>(answers.begin(), answers.end());
  }
  TransportResult send(const ServerUrl&, const HttpRequest& request) override {
    calls.push_back(request.method + " " + request.target);
    auto& queue = answers_[request.target];
    if (queue.empty()) return HttpResponse{404, "Not Found", R"({"error": "no such API endpoint"})"};
    TransportResult answer = queue.front();
    if (queue.size() > 1) queue.pop_front();
    return answer;
  }
  std::vector<std::string> calls;

 private:
  std::map<std::string, std::deque<TransportResult>> answers_;
};

/// A clock that moves only when slept; stops a watch after `rounds` frames.
class FakePacer final : public Pacer {
 public:
  explicit FakePacer(int rounds = 1000, bool terminal = false) : rounds_(rounds), terminal_(terminal) {}
  std::chrono::steady_clock::time_point now() override { return std::chrono::steady_clock::time_point{} + slept; }
  std::chrono::system_clock::time_point wall_now() override {
    return std::chrono::system_clock::time_point{std::chrono::seconds{1'796'461'200}} + slept;  // 2026-12-05T09:00:00Z
  }
  void sleep_for(std::chrono::milliseconds d) override {
    slept += d;
    ++sleeps;
  }
  bool keep_watching() override { return --rounds_ > 0; }
  bool redraws_in_place() const override { return terminal_; }
  std::chrono::milliseconds slept{0};
  int sleeps = 0;

 private:
  int rounds_;
  bool terminal_;
};

HttpResponse ok(std::string_view body) { return HttpResponse{200, "OK", std::string(body)}; }
TransportResult unreachable() { return fail(TransportError{"Connection refused"}); }

constexpr std::string_view kStatus = R"({"revision": 4, "canary_weight": 10, "aborted": false,
  "stable": {"selector": "v=1", "served": 90, "served_requests": 540, "endpoints": [{"address": "a:1", "healthy": true}]},
  "canary": {"selector": "v=2", "served": 10, "served_requests": 60, "endpoints": [{"address": "b:1", "healthy": true}]}})";
constexpr std::string_view kProgressing = R"({"phase": "progressing", "step": 1, "steps": 2, "canary_weight": 10})";
constexpr std::string_view kCompleted = R"({"phase": "completed", "step": 2, "steps": 2, "canary_weight": 0, "reason": "promoted"})";
constexpr std::string_view kAborted = R"({"phase": "aborted", "step": 1, "steps": 2, "canary_weight": 0, "reason": "canary error rate 20 % > 1 %"})";

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome run_with(ScriptedServer& server, FakePacer& pacer, const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = run(args, Environment{}, server, out, err, pacer);
  return {code, out.str(), err.str()};
}

std::size_t count(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(StatusWatchTest, AppendsAFrameEverySecond) {
  ScriptedServer server;
  server.script("/api/status", {ok(kStatus)});
  server.script("/api/rollout", {ok(kProgressing)});
  FakePacer pacer(3);
  const auto o = run_with(server, pacer, {"status", "--watch"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_EQ(count(o.out, "canaryd http://127.0.0.1:9901  revision 4"), 3u) << o.out;
  EXPECT_EQ(count(o.out, "ROLLOUT  progressing  step 1/2"), 3u) << o.out;
  EXPECT_EQ(o.out.find("\x1b["), std::string::npos) << "no escape sequences when not on a terminal";
  EXPECT_EQ(pacer.slept, std::chrono::seconds(2));
}

TEST(StatusWatchTest, RedrawsInPlaceOnATerminal) {
  ScriptedServer server;
  server.script("/api/status", {ok(kStatus)});
  FakePacer pacer(2, true);
  const auto o = run_with(server, pacer, {"status", "-w"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_EQ(count(o.out, "\x1b[H\x1b[2J"), 2u);
  EXPECT_EQ(o.out.rfind("\x1b[H\x1b[2Jcanaryd ", 0), 0u);
  EXPECT_EQ(o.out.find("ROLLOUT"), std::string::npos) << "a 404 on /api/rollout leaves the line out";
}

TEST(StatusWatchTest, UnreachableFirstExits3LaterIsShownAndRetried) {
  ScriptedServer server;
  server.script("/api/status", {unreachable()});
  FakePacer pacer(3);
  auto o = run_with(server, pacer, {"status", "--watch"});
  EXPECT_EQ(o.code, kExitUnreachable);
  EXPECT_EQ(o.err, "canaryctl: cannot reach canaryd at http://127.0.0.1:9901: Connection refused\n");

  server.script("/api/status", {ok(kStatus), unreachable(), ok(kStatus)});
  FakePacer again(3);
  o = run_with(server, again, {"status", "--watch"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_NE(o.out.find("cannot reach canaryd at http://127.0.0.1:9901: Connection refused (retrying)"), std::string::npos);
  EXPECT_EQ(count(o.out, "revision 4"), 2u);
}

TEST(RolloutWatchTest, StopsOnceTheRolloutIsFinished) {
  ScriptedServer server;
  server.script("/api/rollout", {ok(kProgressing), ok(kProgressing), ok(kCompleted)});
  FakePacer pacer;
  const auto o = run_with(server, pacer, {"rollout", "status", "--watch"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_EQ(count(o.out, "PHASE"), 3u) << o.out;
  EXPECT_NE(o.out.find("completed"), std::string::npos);
  EXPECT_EQ(pacer.sleeps, 2);
}

TEST(WaitTest, CompletedExits0WithOneLine) {
  ScriptedServer server;
  server.script("/api/rollout", {ok(kProgressing), ok(kProgressing), ok(kCompleted)});
  FakePacer pacer;
  const auto o = run_with(server, pacer, {"wait"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_EQ(o.out, "rollout completed: promoted\n");
  EXPECT_EQ(o.err, "");
  EXPECT_EQ(pacer.slept, std::chrono::seconds(2));
}

TEST(WaitTest, AbortedOrNoneExits1AtOnce) {
  ScriptedServer server;
  server.script("/api/rollout", {ok(kAborted)});
  FakePacer pacer;
  auto o = run_with(server, pacer, {"wait", "--for", "completed"});
  EXPECT_EQ(o.code, kExitRefused);
  EXPECT_EQ(o.err, "error: rollout aborted at step 1/2: canary error rate 20 % > 1 %\n");
  EXPECT_EQ(pacer.sleeps, 0);
  server.script("/api/rollout", {ok(R"({"phase": "none"})")});
  o = run_with(server, pacer, {"wait"});
  EXPECT_EQ(o.code, kExitRefused);
}

TEST(WaitTest, TimesOutAfterTheTimeout) {
  ScriptedServer server;
  server.script("/api/rollout", {ok(kProgressing)});
  FakePacer pacer;
  const auto o = run_with(server, pacer, {"wait", "--timeout", "5s"});
  EXPECT_EQ(o.code, kExitRefused);
  EXPECT_EQ(o.err, "error: timed out after 5s waiting for completed: rollout progressing at step 1/2\n");
  EXPECT_EQ(pacer.slept, std::chrono::seconds(5));
  EXPECT_EQ(server.calls.size(), 6u) << "polls at 0..5 s";
}

TEST(WaitTest, HealthyPollsTheStatus) {
  ScriptedServer server;
  server.script("/api/status", {ok(kStatus)});
  FakePacer pacer;
  const auto o = run_with(server, pacer, {"wait", "--for", "healthy"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_EQ(o.out, "healthy: stable 1/1 endpoints healthy, canary 1/1 endpoints healthy\n");
  EXPECT_EQ(server.calls, std::vector<std::string>{"GET /api/status"});
}

TEST(WaitTest, UnreachableExits3ButARestartIsWaitedOut) {
  ScriptedServer server;
  server.script("/api/rollout", {unreachable()});
  FakePacer pacer;
  auto o = run_with(server, pacer, {"wait"});
  EXPECT_EQ(o.code, kExitUnreachable);
  EXPECT_EQ(o.err, "canaryctl: cannot reach canaryd at http://127.0.0.1:9901: Connection refused\n");

  server.script("/api/rollout", {ok(kProgressing), unreachable(), unreachable(), ok(kCompleted)});
  FakePacer restart;
  o = run_with(server, restart, {"wait"});
  EXPECT_EQ(o.code, kExitOk) << o.err;

  server.script("/api/rollout", {ok(kProgressing), unreachable()});
  FakePacer gone;
  o = run_with(server, gone, {"wait", "--timeout", "3s"});
  EXPECT_EQ(o.code, kExitUnreachable);
  EXPECT_EQ(o.err, "error: timed out after 3s waiting for completed: cannot reach canaryd at http://127.0.0.1:9901: "
                   "Connection refused\n");
}

TEST(WaitTest, ARefusalExits1WithTheServersError) {
  ScriptedServer server;  // nothing scripted: 404 from a canaryd without rollouts
  FakePacer pacer;
  const auto o = run_with(server, pacer, {"wait"});
  EXPECT_EQ(o.code, kExitRefused);
  EXPECT_EQ(o.err, "error: no such API endpoint\n");
}

}  // namespace
}  // namespace canaryd::ctl
