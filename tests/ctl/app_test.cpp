// canaryctl end to end over a fake transport: outputs, JSON mode, terminal safety, exit statuses, flags,
// environment and token file.
#include "ctl/app.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace canaryd::ctl {
namespace {

/// Answers every call with one canned result and remembers what was sent.
class FakeTransport final : public Transport {
 public:
  explicit FakeTransport(TransportResult answer) : answer_(std::move(answer)) {}
  TransportResult send(const ServerUrl& server, const HttpRequest& request) override {
    ++calls;
    last_server = server;
    last_request = request;
    return answer_;
  }
  int calls = 0;
  ServerUrl last_server;
  HttpRequest last_request;

 private:
  TransportResult answer_;
};

constexpr std::string_view kStatus = R"({"revision": 5, "canary_weight": 20, "updated_at": "2026-11-27T15:00:00Z",
  "stable": {"selector": "name=nginx,version=v1", "endpoints": []},
  "canary": {"selector": "name=nginx,version=v2", "endpoints": []}})";

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome run_with(FakeTransport& t, const std::vector<std::string>& args, Environment env = {}) {
  std::ostringstream out, err;
  const int code = run(args, env, t, out, err);
  return {code, out.str(), err.str()};
}

FakeTransport answering(int status, std::string_view body) {
  return FakeTransport(HttpResponse{status, "", std::string(body)});
}

TEST(RunTest, StatusPrintsTheTable) {
  auto t = answering(200, kStatus);
  auto o = run_with(t, {"status"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_NE(o.out.find("CANARY WEIGHT  20%"), std::string::npos) << o.out;
  EXPECT_EQ(t.last_request.method, "GET");
  EXPECT_EQ(t.last_request.target, "/api/status");
  EXPECT_EQ(t.last_server.text, "http://127.0.0.1:9901");
}

TEST(RunTest, JsonOutputIsTheServersBodyAsIs) {
  auto t = answering(200, kStatus);
  auto o = run_with(t, {"-o", "json", "status"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_EQ(o.out, std::string(kStatus) + "\n");
}

TEST(RunTest, JsonOutputNeverCarriesRawControlCharacters) {
  // canaryd escapes them itself; another server might not. DEL and C1 are valid JSON raw: the document
  // printed is the same for a JSON reader.
  auto t = answering(409, "{\"error\": \"x\x7f\xC2\x9B\", \"kind\": \"conflict\"}");
  auto o = run_with(t, {"-o", "json", "promote"});
  EXPECT_EQ(o.code, kExitRefused);
  EXPECT_EQ(o.out, "{\"error\": \"x\\u007f\\u009b\", \"kind\": \"conflict\"}\n");
  // A success is printed whatever it is, but never raw.
  auto raw = answering(200, "{\"cause\": \"\x1b[2J\"}");
  o = run_with(raw, {"-o", "json", "status"});
  EXPECT_EQ(o.out, "{\"cause\": \"\\u001b[2J\"}\n");
}

TEST(RunTest, UnchangedIsSaidAndExits0) {
  std::string body(kStatus);
  body.insert(body.size() - 1, R"(, "unchanged": true)");
  auto t = answering(200, body);
  auto o = run_with(t, {"weight", "20"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_EQ(o.out, "unchanged: stable name=nginx,version=v1, canary name=nginx,version=v2 at 20% (revision 5)\n");
}

TEST(RunTest, AConflictOnIfRevisionExits1WithTheError) {
  auto t = answering(409, R"({"error": "if_revision is 4 but the current revision is 5", "kind": "conflict"})");
  auto o = run_with(t, {"weight", "20", "--if-revision", "4"});
  EXPECT_EQ(o.code, kExitRefused);
  EXPECT_EQ(o.err, "error: if_revision is 4 but the current revision is 5\n");
}

TEST(RunTest, ServerTextCannotDriveTheTerminal) {
  auto t = answering(400, "{\"error\": \"bad\\nerror: forged\\u001b[2J\"}");
  auto o = run_with(t, {"weight", "20"});
  EXPECT_EQ(o.err, "error: bad\\nerror: forged\\x1b[2J\n");
  auto html = FakeTransport(HttpResponse{502, "Bad\x1b[2J", "<html>\x1b]0;x\x07</html>"});
  o = run_with(html, {"status"});
  EXPECT_EQ(o.err, "error: HTTP 502 Bad\\x1b[2J: <html>\\x1b]0;x\\x07</html>\n");
}

TEST(RunTest, ChangePrintsAConfirmation) {
  auto t = answering(200, kStatus);
  auto o = run_with(t, {"weight", "20"});
  EXPECT_EQ(o.code, kExitOk);
  EXPECT_EQ(o.out, "canary weight set to 20% (revision 5)\n");
  EXPECT_EQ(t.last_request.body, R"({"canary_weight":20,"cause":"canaryctl weight 20"})");
}

TEST(RunTest, RefusalPrintsTheServersErrorAndExits1) {
  auto t = answering(400, R"({"error": "canary_weight: 200 is out of range 0..100"})");
  auto o = run_with(t, {"weight", "200"});
  EXPECT_EQ(o.code, kExitRefused);
  EXPECT_EQ(o.err, "error: canary_weight: 200 is out of range 0..100\n");
  EXPECT_EQ(o.out, "");
}

TEST(RunTest, RefusalUnderJsonPrintsTheBodyAndExits1) {
  auto t = answering(409, R"({"error": "no canary set"})");
  auto o = run_with(t, {"-o", "json", "promote"});
  EXPECT_EQ(o.code, kExitRefused);
  EXPECT_EQ(o.out, "{\"error\": \"no canary set\"}\n");
}

TEST(RunTest, UnreachableServerExits3) {
  FakeTransport t(fail(TransportError{"Connection refused"}));
  auto o = run_with(t, {"status"}, Environment{"http://127.0.0.1:1", std::nullopt});
  EXPECT_EQ(o.code, kExitUnreachable);
  EXPECT_EQ(o.err, "canaryctl: cannot reach canaryd at http://127.0.0.1:1: Connection refused\n");
}

TEST(RunTest, UsageErrorExits2WithoutCallingTheServer) {
  auto t = answering(200, kStatus);
  auto o = run_with(t, {"frobnicate"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_EQ(t.calls, 0);
  EXPECT_EQ(o.err.rfind("canaryctl: unknown command \"frobnicate\"\nusage: canaryctl", 0), 0u) << o.err;
}

TEST(RunTest, HttpsUrlIsAUsageError) {
  auto t = answering(200, kStatus);
  EXPECT_EQ(run_with(t, {"-s", "https://h:9901", "status"}).code, kExitUsage);
  auto o = run_with(t, {"status"}, Environment{"https://h:9901", std::nullopt});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("CANARYD_URL"), std::string::npos) << o.err;
  EXPECT_EQ(t.calls, 0);
}

TEST(RunTest, FlagServerWinsOverEnvironment) {
  auto t = answering(200, kStatus);
  run_with(t, {"-s", "http://a:1/base/", "history"}, Environment{"http://b:2", std::nullopt});
  EXPECT_EQ(t.last_server.host, "a");
  EXPECT_EQ(t.last_request.target, "/base/api/history");
}

TEST(RunTest, TokenComesFromEnvironmentOrFileAndTheFileWins) {
  auto t = answering(200, kStatus);
  run_with(t, {"status"}, Environment{std::nullopt, "env-token"});
  EXPECT_EQ(t.last_request.token, "env-token");

  const auto path = std::filesystem::temp_directory_path() / ("canaryctl-token-" + std::to_string(::getpid()));
  std::ofstream(path) << "  file-token\n";
  run_with(t, {"--token-file", path.string(), "status"}, Environment{std::nullopt, "env-token"});
  EXPECT_EQ(t.last_request.token, "file-token");
  std::filesystem::remove(path);

  auto o = run_with(t, {"--token-file", path.string(), "status"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("cannot read token file"), std::string::npos) << o.err;
}

TEST(RunTest, NoTokenSendsNoAuthorization) {
  auto t = answering(200, kStatus);
  run_with(t, {"status"});
  EXPECT_EQ(t.last_request.token, "");
}

TEST(RunTest, AnswerThatIsNotCanarydsExits1) {
  auto t = answering(200, "<html>hello</html>");
  auto o = run_with(t, {"status"});
  EXPECT_EQ(o.code, kExitRefused);
  EXPECT_NE(o.err.find("not as canaryd does"), std::string::npos) << o.err;
}

TEST(RunTest, HelpAndVersionNeedNoServer) {
  auto t = answering(200, kStatus);
  auto help = run_with(t, {"--help"});
  EXPECT_EQ(help.code, kExitOk);
  EXPECT_NE(help.out.find("undo [--to-revision N]"), std::string::npos);
  auto version = run_with(t, {"--version"});
  EXPECT_EQ(version.code, kExitOk);
  EXPECT_EQ(version.out, "canaryctl " CANARYD_VERSION "\n");
  EXPECT_EQ(t.calls, 0);
}

}  // namespace
}  // namespace canaryd::ctl
