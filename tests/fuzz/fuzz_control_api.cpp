// Fuzzes the control API (weights/control_api.cpp) over a real ControlService and StateStore.
//
// An input is up to kMaxCalls API calls separated by 0xFF bytes (never part of valid UTF-8, so JSON
// bodies rarely need it). Each call: byte 0 picks the route (low 4 bits, see kRoutes) and the
// Authorization header (bits 4-5, see authorization()); the remaining bytes are the body, except for
// the last route, whose target is the bytes up to the first '\n' and whose body is the rest. Every input
// starts from the same fresh history (and state file), so a crash reproduces from its input alone; the
// temporary directory is created once.
//
// Invariants after each call: the status is one of 200/400/401/404/405/409/413 (500 only means a failed
// write, which cannot happen on this writable store, so it is a finding too); the body is valid JSON, an
// object, with an "error" string and the "kind" of its status when the status is not 200; a refused call
// changed nothing (the whole history, not only the revision); a change answered "unchanged" changed
// nothing either; any other applied change added exactly one revision, keeps weight <= 10000 and 0
// without a canary, keeps the sets disjoint, records a cause the cause rule accepts, is echoed in the
// reply, and was persisted: the state file loads back to exactly the history in memory, within the
// size bound. Calls without the token are refused with 401.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "config/selector.hpp"
#include "weights/api_error.hpp"
#include "weights/cause_rule.hpp"
#include "weights/control_api.hpp"
#include "weights/control_service.hpp"
#include "weights/routing_history.hpp"
#include "weights/state_store.hpp"
#include "weights/transitions.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

namespace json = boost::json;
using namespace canaryd;
using weights::ApiReply;
using weights::ApiRequest;

constexpr std::size_t kMaxCalls = 8;
constexpr unsigned kHistoryLimit = 4;
constexpr std::string_view kToken = "fuzz-token";

struct Route {
  std::string_view method;
  std::string_view target;
};

// Index 15 takes its target from the input.
constexpr Route kRoutes[16] = {
    {"GET", "/api/status"},       {"PUT", "/api/weight"},        {"POST", "/api/promote"},
    {"POST", "/api/rollback"},    {"POST", "/api/undo"},         {"PUT", "/api/canary"},
    {"DELETE", "/api/canary"},    {"GET", "/api/history"},       {"POST", "/api/weight"},
    {"GET", "/api/nope"},         {"GET", "/metrics"},           {"PUT", "/api/weight?dry=1"},
    {"PUT", "/api/canary?x"},     {"PATCH", "/api/canary"},      {"get", "/api/status"},
    {"PUT", ""},
};

enum class Auth { Valid, Missing, Wrong, ValidOddSpelling };

std::string authorization(Auth a) {
  switch (a) {
    case Auth::Valid: return "Bearer " + std::string(kToken);
    case Auth::Missing: return "";
    case Auth::Wrong: return "Bearer fuzz-tokem";
    case Auth::ValidOddSpelling: return "bEaReR   " + std::string(kToken) + " \t";
  }
  return "";
}

weights::ServiceView service_view() {
  weights::ServiceView view;
  view.service_selector = *config::Selector::parse("app=web");
  view.endpoints = {
      {"10.0.0.1:80", {{"app", "web"}, {"track", "stable"}}, true, ""},
      {"10.0.0.2:80", {{"app", "web"}, {"track", "canary"}}, true, ""},
      {"10.0.0.3:80", {{"app", "web"}, {"track", "canary"}, {"version", "v2"}}, false, "web-v2-7c9f4"},
      {"10.0.0.4:80", {{"app", "other"}, {"track", "canary"}}, true, ""},
  };
  return view;
}

weights::Clock::time_point base_time() {
  using namespace std::chrono;
  return sys_days{year{2026} / 11 / 27} + hours{15};
}

weights::RoutingHistory initial_history() {
  weights::RoutingState s;
  s.revision = 1;
  s.stable = *config::Selector::parse("track=stable");
  s.canary = *config::Selector::parse("track=canary");
  s.canary_weight = 0;
  s.cause = "initial";
  s.time = base_time();
  return weights::RoutingHistory(s, kHistoryLimit);
}

std::string& state_path() {
  static std::string path;
  return path;
}

void remove_state_dir() {
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(state_path()).parent_path(), ec);
}

void check_state(const weights::RoutingState& s, const weights::ServiceView& view) {
  FUZZ_CHECK(s.canary_weight <= config::kMaxBasisPoints, "weight above 10000 basis points");
  if (!s.canary) FUZZ_CHECK(s.canary_weight == 0, "a weight without a canary");
  if (s.canary) {
    FUZZ_CHECK(weights::sets_disjoint(view.service_selector, s.stable, *s.canary),
               "stable " + s.stable.to_string() + " and canary " + s.canary->to_string() + " overlap");
  }
}

void run_call(const weights::ControlApi& api, weights::ControlService& service, const weights::ServiceView& view,
              std::string_view record, std::size_t index) {
  const auto selector = static_cast<unsigned char>(record.empty() ? 0 : record.front());
  if (!record.empty()) record.remove_prefix(1);
  const Route& route = kRoutes[selector & 0x0f];
  const Auth auth = static_cast<Auth>((selector >> 4) & 0x03);

  ApiRequest req;
  req.method = std::string(route.method);
  if (route.target.empty()) {
    const std::size_t nl = record.find('\n');
    req.target = std::string(record.substr(0, nl));
    record = nl == std::string_view::npos ? std::string_view() : record.substr(nl + 1);
  } else {
    req.target = std::string(route.target);
  }
  req.body = std::string(record);
  req.authorization = authorization(auth);

  const weights::RoutingHistory before = service.history();
  std::optional<ApiReply> answered;
  api.handle(req, base_time() + std::chrono::seconds(1 + index), [&answered](ApiReply r) { answered = std::move(r); });
  // The state file completes every write at once, so every call is answered before handle() returns.
  FUZZ_CHECK(answered.has_value(), "no answer from a call over the state file");
  const ApiReply reply = std::move(*answered);
  const std::string status = std::to_string(reply.status);

  static constexpr int kAllowed[] = {200, 400, 401, 404, 405, 409, 413, 500};
  FUZZ_CHECK(std::find(std::begin(kAllowed), std::end(kAllowed), reply.status) != std::end(kAllowed),
             "unexpected status " + status);
  FUZZ_CHECK(reply.status != 500, "500 although the state store is writable: " + reply.body);

  boost::system::error_code ec;
  const json::value doc = json::parse(reply.body, ec);
  FUZZ_CHECK(!ec, "reply body (status " + status + ") is not valid JSON: " + ec.message() + ": " + reply.body);
  FUZZ_CHECK(doc.is_object(), "reply body is not a JSON object: " + reply.body);
  const json::object& obj = doc.get_object();

  const std::string path = req.target.substr(0, req.target.find('?'));
  const bool api_path = path.starts_with("/api/");
  if (api_path && (auth == Auth::Missing || auth == Auth::Wrong)) {
    FUZZ_CHECK(reply.status == 401, "an /api/ call without the token answered " + status);
  }
  if (auth == Auth::Valid || auth == Auth::ValidOddSpelling) FUZZ_CHECK(reply.status != 401, "valid token refused");

  const weights::RoutingHistory after = service.history();
  if (reply.status != 200) {
    const json::value* error = obj.if_contains("error");
    FUZZ_CHECK(error != nullptr && error->is_string(), "a " + status + " without an error string: " + reply.body);
    const json::value* kind = obj.if_contains("kind");
    FUZZ_CHECK(kind != nullptr && kind->is_string() && kind->get_string() == weights::error_kind(reply.status),
               "a " + status + " without its kind: " + reply.body);
    FUZZ_CHECK(after.current().revision == before.current().revision, "a refused call changed the revision");
    FUZZ_CHECK(after == before, "a refused call changed the history");
    return;
  }

  FUZZ_CHECK(api_path, "200 for a path outside /api/");
  if (req.method == "GET") {
    FUZZ_CHECK(after == before, "a GET changed the history");
    return;
  }
  if (const json::value* unchanged = obj.if_contains("unchanged")) {
    FUZZ_CHECK(unchanged->is_bool() && unchanged->get_bool(), "\"unchanged\" other than true: " + reply.body);
    FUZZ_CHECK(after == before, "a change answered unchanged changed the history");
    return;
  }
  // An applied change: one new revision, echoed, consistent, and on disk.
  FUZZ_CHECK(after.current().revision == before.current().revision + 1, "a change did not add exactly one revision");
  FUZZ_CHECK(after.revisions().size() <= std::min<std::size_t>(before.revisions().size() + 1, kHistoryLimit),
             "history longer than its bound after a change");
  FUZZ_CHECK(after.json_bytes() <= weights::kMaxHistoryBytes || after.revisions().size() == 1,
             "history over its size bound");
  FUZZ_CHECK(weights::cause_problem(after.current().cause).empty(), "recorded cause breaks the cause rule");
  const json::value* revision = obj.if_contains("revision");
  FUZZ_CHECK(revision != nullptr && revision->is_number() &&
                 revision->to_number<std::uint64_t>() == after.current().revision,
             "the reply does not show the new revision: " + reply.body);
  check_state(after.current(), view);

  const weights::StateStore store(state_path());
  const auto loaded = store.load(kHistoryLimit);
  FUZZ_CHECK(loaded && loaded->has_value(),
             "state file does not load back: " + (loaded ? std::string() : loaded.error().message));
  FUZZ_CHECK(**loaded == after, "state file differs from the history in memory");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // /dev/shm when there is one: every applied change fsyncs the state file and its directory.
  std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path().string();
  std::string dir = base + "/canaryd-fuzz-control-XXXXXX";
  FUZZ_CHECK(mkdtemp(dir.data()) != nullptr, "cannot create a temporary directory under " + base);
  state_path() = dir + "/state.json";
  std::atexit(remove_state_dir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const weights::ServiceView view = service_view();
  // A fresh history per input (the file from the previous input is simply overwritten by the first
  // applied change): the outcome depends on this input only.
  weights::ControlService service(initial_history(), weights::StateStore(state_path()));
  const weights::ControlApi api(service, std::string(kToken), [] { return view; });
  check_state(service.current(), view);

  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (std::size_t i = 0; i < kMaxCalls; ++i) {
    const std::size_t sep = input.find('\xff');
    run_call(api, service, view, input.substr(0, sep), i);
    if (sep == std::string_view::npos) break;
    input.remove_prefix(sep + 1);
  }
  return 0;
}
