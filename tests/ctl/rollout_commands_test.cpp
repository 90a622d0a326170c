// Unit tests of canaryctl's rollout and wait command lines: parsing, usage errors, the API calls they
// make, their readable answers and the per-command help.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "ctl/api_call.hpp"
#include "ctl/app.hpp"
#include "ctl/options.hpp"

namespace canaryd::ctl {
namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

Invocation parse_ok(const std::string& line) {
  auto r = parse_args(split(line));
  if (!r) {
    ADD_FAILURE() << line << ": " << r.error().message;
    return {};
  }
  return r.value();
}

std::string usage_error(const std::string& line) {
  auto r = parse_args(split(line));
  return r ? std::string("<valid>") : r.error().message;
}

TEST(RolloutCommandsTest, ParsesEachSubcommand) {
  EXPECT_EQ(parse_ok("rollout start").command, Command::RolloutStart);
  EXPECT_EQ(parse_ok("rollout start -f plan.yaml").plan_file, "plan.yaml");
  EXPECT_EQ(parse_ok("rollout start --file=p.yaml --cause why --if-revision 3").if_revision, 3u);
  EXPECT_EQ(parse_ok("rollout status").command, Command::RolloutStatus);
  EXPECT_TRUE(parse_ok("rollout status --watch").watch);
  EXPECT_TRUE(parse_ok("rollout status -w").watch);
  EXPECT_EQ(parse_ok("rollout pause").command, Command::RolloutPause);
  EXPECT_EQ(parse_ok("rollout resume").command, Command::RolloutResume);
  EXPECT_EQ(parse_ok("rollout abort --cause bad").cause, "bad");
  EXPECT_EQ(parse_ok("-s http://h:1 rollout promote").command, Command::RolloutPromote);
  EXPECT_TRUE(parse_ok("status --watch").watch);
  EXPECT_FALSE(parse_ok("status").watch);
}

TEST(RolloutCommandsTest, WaitDefaultsToCompletedWithinTenMinutes) {
  const auto inv = parse_ok("wait");
  EXPECT_EQ(inv.command, Command::Wait);
  EXPECT_EQ(inv.wait_for, WaitFor::Completed);
  EXPECT_EQ(inv.timeout, std::chrono::minutes(10));
  EXPECT_EQ(parse_ok("wait --for healthy --timeout 90s").wait_for, WaitFor::Healthy);
  EXPECT_EQ(parse_ok("wait --for=completed --timeout=1h").timeout, std::chrono::hours(1));
  EXPECT_EQ(parse_ok("wait --timeout 0s").timeout, std::chrono::milliseconds(0));
}

TEST(RolloutCommandsTest, UsageErrorsSayWhatIsWrong) {
  EXPECT_EQ(usage_error("rollout"), "rollout needs a subcommand: start|status|pause|resume|abort|promote");
  EXPECT_EQ(usage_error("rollout go"), "unknown rollout subcommand \"go\"");
  EXPECT_EQ(usage_error("rollout start extra"), "rollout start takes no argument, got extra \"extra\"");
  EXPECT_EQ(usage_error("rollout start -f"), "option -f needs a value");
  EXPECT_EQ(usage_error("rollout status -f p.yaml"), "option --file does not apply to rollout status");
  EXPECT_EQ(usage_error("rollout status --cause x"), "option --cause does not apply to rollout status");
  EXPECT_EQ(usage_error("rollout pause --watch"), "option --watch does not apply to rollout pause");
  EXPECT_EQ(usage_error("history --watch"), "option --watch does not apply to history");
  EXPECT_EQ(usage_error("status --watch -o json"), "--watch draws a live view; it does not combine with -o json");
  EXPECT_EQ(usage_error("wait --for ready"), "--for must be completed or healthy, not \"ready\"");
  EXPECT_EQ(usage_error("wait --timeout 10"), "--timeout must be a duration such as 90s, 10m or 1h, not \"10\"");
  EXPECT_EQ(usage_error("wait --cause x"), "option --cause does not apply to wait");
  EXPECT_EQ(usage_error("status --for healthy"), "option --for does not apply to status");
  EXPECT_EQ(usage_error("wait now"), "wait takes no argument, got extra \"now\"");
}

TEST(RolloutCommandsTest, ChangesAndTheirCauses) {
  EXPECT_TRUE(is_change(Command::RolloutStart));
  EXPECT_TRUE(is_change(Command::RolloutAbort));
  EXPECT_FALSE(is_change(Command::RolloutStatus));
  EXPECT_FALSE(is_change(Command::Wait));
  EXPECT_EQ(parse_ok("rollout abort").default_cause, "canaryctl rollout abort");
  EXPECT_EQ(parse_ok("-s http://h:1 rollout start -f p.yaml").default_cause, "canaryctl rollout start -f p.yaml");
}

TEST(RolloutCommandsTest, ApiCalls) {
  auto call = build_api_call(parse_ok("rollout start"));
  EXPECT_EQ(call.method, "POST");
  EXPECT_EQ(call.path, "/api/rollout");
  EXPECT_EQ(call.body, "") << "without -f the server runs its configured plan";
  EXPECT_EQ(build_api_call(parse_ok("rollout start --cause go")).body, R"({"cause":"go"})");
  const std::string plan = R"({"steps":[{"weight":33.33}]})";
  EXPECT_EQ(build_api_call(parse_ok("rollout start -f p"), plan).body, plan);
  EXPECT_EQ(build_api_call(parse_ok("rollout start -f p --if-revision 4 --cause go"), plan).body,
            R"({"steps":[{"weight":33.33}],"if_revision":4,"cause":"go"})");
  EXPECT_EQ(build_api_call(parse_ok("rollout start -f p --cause go"), "{}").body, R"({"cause":"go"})");

  call = build_api_call(parse_ok("rollout status"));
  EXPECT_EQ(call.method + " " + call.path, "GET /api/rollout");
  for (const char* action : {"pause", "resume", "abort", "promote"}) {
    call = build_api_call(parse_ok(std::string("rollout ") + action));
    EXPECT_EQ(call.method + " " + call.path, std::string("POST /api/rollout/") + action);
    EXPECT_EQ(call.body, "") << "canaryd records its own cause, which names the step";
  }
  EXPECT_EQ(build_api_call(parse_ok("rollout abort --cause errors")).body, R"({"cause":"errors"})");
  EXPECT_EQ(build_api_call(parse_ok("rollout pause --if-revision 9")).body, R"({"if_revision":9})");
  EXPECT_EQ(build_api_call(parse_ok("wait")).path, "/api/rollout");
  EXPECT_EQ(build_api_call(parse_ok("wait --for healthy")).path, "/api/status");
}

TEST(RolloutCommandsTest, EachNewCommandHasItsHelp) {
  for (const char* line : {"rollout --help", "rollout start --help", "rollout status -h", "rollout pause --help",
                           "rollout resume --help", "rollout abort --help", "rollout promote --help", "wait --help",
                           "help wait", "help rollout start", "status --help"}) {
    const auto inv = parse_ok(line);
    EXPECT_EQ(inv.command, Command::Help) << line;
    EXPECT_NE(command_help(inv.help_topic), "") << line;
    EXPECT_EQ(command_help(inv.help_topic).rfind("usage: canaryctl", 0), 0u) << line;
  }
  EXPECT_EQ(parse_ok("frobnicate --help").help_topic, "");
  EXPECT_NE(command_help("rollout start").find("-f, --file FILE"), std::string::npos);
  EXPECT_NE(command_help("wait").find("--timeout D"), std::string::npos);
}

/// Answers every call with one canned result and remembers the last request.
class OneAnswer final : public Transport {
 public:
  explicit OneAnswer(TransportResult answer) : answer_(std::move(answer)) {}
  TransportResult send(const ServerUrl&, const HttpRequest& request) override {
    last = request;
    ++calls;
    return answer_;
  }
  HttpRequest last;
  int calls = 0;

 private:
  TransportResult answer_;
};

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome run_with(Transport& t, const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = run(args, Environment{}, t, out, err);
  return {code, out.str(), err.str()};
}

constexpr std::string_view kStarted =
    R"({"phase": "paused", "step": 1, "steps": 3, "canary_weight": 5.0, "pause_until": null, "analysis": null, "reason": "manual pause"})";

TEST(RolloutRunTest, StartSendsThePlanFileAndConfirms) {
  const auto path = std::filesystem::temp_directory_path() / ("canaryctl-start-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << "rollout:\n  steps:\n    - {weight: 5, pause: manual}\n    - {weight: 33.33, pause: 30s}\n";
  OneAnswer t(HttpResponse{200, "OK", std::string(kStarted)});
  auto o = run_with(t, {"rollout", "start", "-f", path.string()});
  std::filesystem::remove(path);
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(t.last.method + " " + t.last.target, "POST /api/rollout");
  EXPECT_EQ(t.last.body, R"({"steps":[{"weight":5,"pause":"manual"},{"weight":33.33,"pause":"30s"}]})");
  EXPECT_EQ(o.out, "rollout started: paused at step 1/3, weight 5%\n");
}

TEST(RolloutRunTest, AnUnreadablePlanIsAUsageErrorWithoutACall) {
  OneAnswer t(HttpResponse{200, "OK", std::string(kStarted)});
  auto o = run_with(t, {"rollout", "start", "-f", "/nonexistent/plan.yaml"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_EQ(o.err, "canaryctl: /nonexistent/plan.yaml: cannot read the file\n");
  EXPECT_EQ(t.calls, 0);
}

TEST(RolloutRunTest, TheServersRefusalIsShown) {
  OneAnswer t(HttpResponse{400, "Bad Request", R"({"error": "steps[1].pause: must be a duration like 2m, or manual", "kind": "bad_request"})"});
  auto o = run_with(t, {"rollout", "start"});
  EXPECT_EQ(o.code, kExitRefused);
  EXPECT_EQ(o.err, "error: steps[1].pause: must be a duration like 2m, or manual\n");
}

TEST(RolloutRunTest, StatusAndJson) {
  OneAnswer t(HttpResponse{200, "OK", std::string(kStarted)});
  auto o = run_with(t, {"rollout", "status"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_NE(o.out.find("PHASE   paused"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("STEP    1/3"), std::string::npos) << o.out;
  o = run_with(t, {"-o", "json", "rollout", "status"});
  EXPECT_EQ(o.out, std::string(kStarted) + "\n");
}

}  // namespace
}  // namespace canaryd::ctl
