// canaryctl's kubectl-like habits over a fake transport: `COMMAND --help` for every command, `completion
// bash|zsh`, `version` (client and server), `history --revision N`, and the token hint under a 401.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "ctl/app.hpp"
#include "ctl/completion.hpp"
#include "ctl/history_revision.hpp"
#include "ctl/version_command.hpp"

namespace canaryd::ctl {
namespace {

/// Answers by path (target without the query); a path it does not know is unreachable.
class ByPath final : public Transport {
 public:
  std::map<std::string, HttpResponse> answers;
  std::vector<HttpRequest> sent;
  TransportResult send(const ServerUrl&, const HttpRequest& request) override {
    sent.push_back(request);
    auto it = answers.find(request.target);
    if (it == answers.end()) return fail(TransportError{"Connection refused"});
    return it->second;
  }
};

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome run_with(ByPath& t, const std::vector<std::string>& args, Environment env = {}) {
  std::ostringstream out, err;
  const int code = run(args, env, t, out, err);
  return {code, out.str(), err.str()};
}

bool has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

constexpr std::string_view kStatus = R"({"revision": 3, "canary_weight": 20, "updated_at": "2026-11-27T15:00:00Z",
  "stable": {"selector": "name=nginx,version=v1", "endpoints": []},
  "canary": {"selector": "name=nginx,version=v2", "endpoints": []}})";

constexpr std::string_view kMetrics =
    "# HELP canaryd_build_info The running canaryd's version (the value is always 1)\n"
    "# TYPE canaryd_build_info gauge\n"
    "canaryd_build_info{version=\"9.8.7\"} 1\n"
    "canaryd_revision 3\n";

constexpr std::string_view kHistory = R"({"revisions": [
  {"revision": 1, "time": "2026-11-27T15:00:00Z", "canary_weight": 10, "stable": "name=nginx,version=v1",
   "canary": "name=nginx,version=v2", "cause": "initial state"},
  {"revision": 2, "time": "2026-11-27T15:01:00Z", "canary_weight": 20, "stable": "name=nginx,version=v1",
   "canary": "name=nginx,version=v2", "cause": "canaryctl weight 20"},
  {"revision": 3, "time": "2026-11-27T15:02:00Z", "canary_weight": 0, "stable": "name=nginx,version=v2",
   "canary": null, "cause": "a long cause that the table would show in one column: promote after a clean day"}]})";

// ------------------------------------------------------------------ COMMAND --help

TEST(CommandHelpTest, EveryCommandPrintsItsOwnHelp) {
  for (auto name : command_names()) {
    const std::string command(name);
    if (command == "help") continue;  // `help --help` is the whole help
    ByPath t;
    std::vector<std::string> args{command};
    if (command == "rollout") args.push_back("start");
    args.push_back("--help");
    const auto o = run_with(t, args);
    EXPECT_EQ(o.code, kExitOk) << command;
    EXPECT_EQ(o.out.rfind("usage: canaryctl " + command, 0), 0u) << command << ":\n" << o.out;
    EXPECT_FALSE(has(o.out, "commands:")) << command << " printed the whole help";
    EXPECT_TRUE(t.sent.empty()) << command;
  }
  EXPECT_TRUE(has(command_help("help"), "usage: canaryctl help [COMMAND]"));
  EXPECT_TRUE(has(command_help("history"), "--revision N"));
  EXPECT_TRUE(has(command_help("version"), "--client"));
}

TEST(CommandHelpTest, HelpWordAndDashHAgree) {
  ByPath t;
  EXPECT_EQ(run_with(t, {"help", "canary"}).out, run_with(t, {"canary", "-h"}).out);
  EXPECT_EQ(run_with(t, {"help", "version"}).out, run_with(t, {"version", "--help"}).out);
  // the whole help still lists every command and its options
  const auto all = run_with(t, {"--help"});
  for (auto name : command_names()) EXPECT_TRUE(has(all.out, "  " + std::string(name))) << name;
  EXPECT_TRUE(has(all.out, "--token-file FILE"));
}

// ------------------------------------------------------------------ completion

TEST(CompletionTest, ScriptsCarryEveryCommandSubcommandAndOption) {
  for (const char* shell : {"bash", "zsh"}) {
    ByPath t;
    const auto o = run_with(t, {"completion", shell});
    EXPECT_EQ(o.code, kExitOk) << shell;
    EXPECT_EQ(o.out, completion_script(shell));
    for (auto name : command_names()) EXPECT_TRUE(has(o.out, " " + std::string(name) + " ") ||
                                                  has(o.out, "(" + std::string(name) + " ") ||
                                                  has(o.out, " " + std::string(name) + ")") ||
                                                  has(o.out, " " + std::string(name) + "\""))
        << shell << " misses " << name;
    for (auto sub : rollout_subcommand_names()) EXPECT_TRUE(has(o.out, std::string(sub))) << sub;
    for (const auto& opt : option_names()) EXPECT_TRUE(has(o.out, "--" + std::string(opt.long_name))) << opt.long_name;
    EXPECT_TRUE(t.sent.empty());
  }
  EXPECT_TRUE(has(completion_script("bash"), "complete -F _canaryctl canaryctl"));
  EXPECT_EQ(completion_script("zsh").rfind("#compdef canaryctl\n", 0), 0u);
}

TEST(CompletionTest, OtherShellsAndMissingShellAreUsageErrors) {
  ByPath t;
  auto o = run_with(t, {"completion", "fish"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_TRUE(has(o.err, "bash or zsh")) << o.err;
  EXPECT_EQ(run_with(t, {"completion"}).code, kExitUsage);
  EXPECT_EQ(run_with(t, {"completion", "bash", "zsh"}).code, kExitUsage);
  EXPECT_EQ(completion_script("fish"), "");
}

// ------------------------------------------------------------------ version

TEST(VersionTest, ServerVersionFromBuildInfoWhenStatusHasNone) {
  ByPath t;
  t.answers["/api/status"] = {200, "OK", std::string(kStatus)};
  t.answers["/metrics"] = {200, "OK", std::string(kMetrics)};
  const auto o = run_with(t, {"version"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out, "canaryctl " CANARYD_VERSION "\ncanaryd 9.8.7 (http://127.0.0.1:9901)\n");
  ASSERT_EQ(t.sent.size(), 2u);
  EXPECT_EQ(t.sent[1].target, "/metrics");
  const auto json = run_with(t, {"-o", "json", "version"});
  EXPECT_EQ(json.out, "{\"client\":\"" CANARYD_VERSION "\",\"server\":\"9.8.7\"}\n");
}

TEST(VersionTest, ServerVersionFromStatusWhenItCarriesOne) {
  ByPath t;
  t.answers["/api/status"] = {200, "OK", R"({"revision": 1, "version": "2.0.0"})"};
  const auto o = run_with(t, {"version"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_TRUE(has(o.out, "canaryd 2.0.0 ")) << o.out;
  EXPECT_EQ(t.sent.size(), 1u);
}

TEST(VersionTest, A401OnStatusStillFindsTheVersionInMetrics) {
  ByPath t;
  t.answers["/api/status"] = {401, "Unauthorized", R"({"error": "missing or invalid bearer token"})"};
  t.answers["/metrics"] = {200, "OK", std::string(kMetrics)};
  const auto o = run_with(t, {"version"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_TRUE(has(o.out, "canaryd 9.8.7")) << o.out;
}

TEST(VersionTest, UnreachableServerPrintsTheClientAndExits3) {
  ByPath t;
  const auto o = run_with(t, {"version"});
  EXPECT_EQ(o.code, kExitUnreachable);
  EXPECT_EQ(o.out, "canaryctl " CANARYD_VERSION "\n");
  EXPECT_TRUE(has(o.err, "cannot reach canaryd at http://127.0.0.1:9901")) << o.err;
}

TEST(VersionTest, AServerThatNamesNoVersionExits1) {
  ByPath t;
  t.answers["/api/status"] = {200, "OK", std::string(kStatus)};
  t.answers["/metrics"] = {200, "OK", "canaryd_revision 3\n"};
  const auto o = run_with(t, {"version"});
  EXPECT_EQ(o.code, kExitRefused);
  EXPECT_EQ(o.out, "canaryctl " CANARYD_VERSION "\n");
  EXPECT_TRUE(has(o.err, "named no canaryd version")) << o.err;
}

TEST(VersionTest, ClientOnlyMakesNoCall) {
  ByPath t;
  for (const auto& args : {std::vector<std::string>{"version", "--client"}, std::vector<std::string>{"--version"}}) {
    const auto o = run_with(t, args);
    EXPECT_EQ(o.code, kExitOk);
    EXPECT_EQ(o.out, "canaryctl " CANARYD_VERSION "\n");
  }
  EXPECT_TRUE(t.sent.empty());
  EXPECT_EQ(run_with(t, {"status", "--client"}).code, kExitUsage);
}

TEST(VersionTest, BuildInfoParsing) {
  EXPECT_EQ(version_from_metrics(kMetrics), "9.8.7");
  EXPECT_EQ(version_from_metrics("canaryd_build_info{a=\"b\",version=\"1.2\"} 1\n"), "1.2");
  EXPECT_EQ(version_from_metrics("canaryd_build_info{xversion=\"1\"} 1\n"), std::nullopt);
  EXPECT_EQ(version_from_metrics("canaryd_build_info{xversion=\"1\",version=\"4\"} 1"), "4");
  EXPECT_EQ(version_from_metrics("canaryd_build_info_other{version=\"1\"} 1\n"), std::nullopt);
  EXPECT_EQ(version_from_metrics("# canaryd_build_info{version=\"1\"}\n"), std::nullopt);
  EXPECT_EQ(version_from_metrics(""), std::nullopt);
  EXPECT_EQ(version_from_status(R"({"version": "1.0"})"), "1.0");
  EXPECT_EQ(version_from_status(R"({"version": 1})"), std::nullopt);
  EXPECT_EQ(version_from_status(kStatus), std::nullopt);
}

// ------------------------------------------------------------------ history --revision

TEST(HistoryRevisionTest, OneRevisionInFullWithWhatChanged) {
  ByPath t;
  t.answers["/api/history"] = {200, "OK", std::string(kHistory)};
  auto o = run_with(t, {"history", "--revision", "3"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out,
            "revision:      3\n"
            "time:          2026-11-27T15:02:00Z\n"
            "canary weight: 0%\n"
            "stable:        name=nginx,version=v2\n"
            "canary:        <none>\n"
            "change-cause:  a long cause that the table would show in one column: promote after a clean day\n"
            "changes:       since revision 2: canary weight 20% -> 0%; stable name=nginx,version=v1 -> "
            "name=nginx,version=v2; canary name=nginx,version=v2 -> <none>\n");
  o = run_with(t, {"history", "--revision=1"});
  EXPECT_TRUE(has(o.out, "changes:       (the oldest revision kept")) << o.out;
}

TEST(HistoryRevisionTest, JsonIsTheServersRevisionObject) {
  ByPath t;
  t.answers["/api/history"] = {200, "OK", std::string(kHistory)};
  const auto o = run_with(t, {"-o", "json", "history", "--revision", "2"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_EQ(o.out, R"({"revision":2,"time":"2026-11-27T15:01:00Z","canary_weight":20,"stable":"name=nginx,version=v1",)"
                   R"("canary":"name=nginx,version=v2","cause":"canaryctl weight 20"})"
                   "\n");
}

TEST(HistoryRevisionTest, AnUnknownRevisionIsAClearErrorExit1) {
  ByPath t;
  t.answers["/api/history"] = {200, "OK", std::string(kHistory)};
  auto o = run_with(t, {"history", "--revision", "7"});
  EXPECT_EQ(o.code, kExitRefused);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "error: revision 7 is not in the history (it keeps revisions 1 to 3; history_limit bounds how "
                   "many)\n");
  o = run_with(t, {"-o", "json", "history", "--revision", "7"});
  EXPECT_EQ(o.code, kExitRefused);
  EXPECT_TRUE(has(o.out, R"({"error":"revision 7 is not in the history)")) << o.out;
}

TEST(HistoryRevisionTest, UsageErrors) {
  ByPath t;
  EXPECT_EQ(run_with(t, {"history", "--revision", "0"}).code, kExitUsage);
  EXPECT_EQ(run_with(t, {"history", "--revision", "x"}).code, kExitUsage);
  EXPECT_EQ(run_with(t, {"history", "--revision"}).code, kExitUsage);
  EXPECT_EQ(run_with(t, {"status", "--revision", "2"}).code, kExitUsage);
  EXPECT_TRUE(t.sent.empty());
}

TEST(HistoryRevisionTest, ChangesBetweenRevisions) {
  RevisionView a{1, "", 10, "s", std::string("c"), ""};
  RevisionView b = a;
  EXPECT_EQ(revision_changes(a, b), "nothing");
  b.canary_weight = 12.5;
  EXPECT_EQ(revision_changes(a, b), "canary weight 10% -> 12.5%");
  EXPECT_EQ(missing_revision_message({}, 4), "revision 4 is not in the history (it holds no revision)");
}

// ------------------------------------------------------------------ 401

TEST(UnauthorizedTest, A401HintsAtTokenFileAndEnvironment) {
  ByPath t;
  t.answers["/api/status"] = {401, "Unauthorized", R"({"error": "missing or invalid bearer token"})"};
  auto o = run_with(t, {"status"});
  EXPECT_EQ(o.code, kExitRefused);
  EXPECT_TRUE(has(o.err, "error: missing or invalid bearer token\nhint: ")) << o.err;
  EXPECT_TRUE(has(o.err, "none was sent")) << o.err;
  EXPECT_TRUE(has(o.err, "--token-file")) << o.err;
  EXPECT_TRUE(has(o.err, "CANARYD_TOKEN")) << o.err;
  // a token was sent: it was the wrong one
  o = run_with(t, {"status"}, Environment{std::nullopt, "wrong"});
  EXPECT_TRUE(has(o.err, "refused the token sent")) << o.err;
  // -o json: the server's document on stdout, the hint on stderr
  o = run_with(t, {"-o", "json", "status"});
  EXPECT_EQ(o.out, "{\"error\": \"missing or invalid bearer token\"}\n");
  EXPECT_TRUE(has(o.err, "hint: ")) << o.err;
  // the live commands too
  o = run_with(t, {"wait", "--for", "healthy", "--timeout", "1s"});
  EXPECT_EQ(o.code, kExitRefused);
  EXPECT_TRUE(has(o.err, "CANARYD_TOKEN")) << o.err;
}

TEST(UnauthorizedTest, OtherRefusalsHaveNoHint) {
  ByPath t;
  t.answers["/api/weight"] = {409, "Conflict", R"({"error": "no canary set"})"};
  const auto o = run_with(t, {"weight", "5"});
  EXPECT_EQ(o.code, kExitRefused);
  EXPECT_EQ(o.err, "error: no canary set\n");
}

}  // namespace
}  // namespace canaryd::ctl
