// Reads GET /api/rollout into a RolloutView and renders it (see rollout_view.hpp).
#include "ctl/rollout_view.hpp"

#include <boost/json.hpp>

#include "ctl/render.hpp"
#include "ctl/table.hpp"
#include "ctl/terminal_text.hpp"
#include "weights/routing_state.hpp"

namespace canaryd::ctl {
namespace {

namespace json = boost::json;

/// Optional fields, each null or absent as nullopt; the first malformed one is remembered.
class Fields {
 public:
  explicit Fields(const json::object& o, std::string where) : o_(o), where_(std::move(where)) {}

  std::optional<double> number(std::string_view key) {
    const auto* v = present(key);
    if (v == nullptr) return std::nullopt;
    json::error_code ec;
    const auto n = v->to_number<double>(ec);
    if (ec) return bad(key, "a number");
    return n;
  }
  std::optional<std::uint64_t> count(std::string_view key) {
    const auto* v = present(key);
    if (v == nullptr) return std::nullopt;
    json::error_code ec;
    const auto n = v->to_number<std::uint64_t>(ec);
    if (ec) return bad(key, "a count");
    return n;
  }
  std::string string(std::string_view key) {
    const auto* v = present(key);
    if (v == nullptr) return {};
    if (const auto* s = v->if_string()) return printable(*s);
    bad(key, "a string");
    return {};
  }
  const json::object* object(std::string_view key) {
    const auto* v = present(key);
    if (v == nullptr) return nullptr;
    if (const auto* o = v->if_object()) return o;
    bad(key, "an object");
    return nullptr;
  }
  std::string error;

 private:
  const json::value* present(std::string_view key) const {
    const auto* v = o_.if_contains(key);
    return v == nullptr || v->is_null() ? nullptr : v;
  }
  std::nullopt_t bad(std::string_view key, std::string_view what) {
    if (error.empty()) error = where_ + "." + std::string(key) + " is not " + std::string(what);
    return std::nullopt;
  }
  const json::object& o_;
  std::string where_;
};

SetFigures read_figures(const json::object* o, std::string where, std::string& error) {
  SetFigures f;
  if (o == nullptr) return f;
  Fields r(*o, std::move(where));
  f.requests = r.count("requests");
  f.error_rate = r.number("error_rate");
  f.p99_ms = r.number("p99_ms");
  if (error.empty()) error = r.error;
  return f;
}

/// "1h2m", "1m20s", "45s"; "0s" once past.
std::string duration_left(std::chrono::seconds left) {
  const long long s = std::max<long long>(0, left.count());
  std::string out;
  if (s >= 3600) out += std::to_string(s / 3600) + "h";
  if (s >= 60) out += std::to_string(s % 3600 / 60) + "m";
  if (s < 3600) out += std::to_string(s % 60) + "s";
  return out;
}

std::string count_text(const std::optional<std::uint64_t>& n) { return n ? std::to_string(*n) : "-"; }

}  // namespace

Result<RolloutView> parse_rollout(std::string_view text) {
  json::error_code ec;
  const auto doc = json::parse(text, ec);
  if (ec) return fail("not JSON (" + ec.message() + ")");
  const auto* o = doc.if_object();
  if (o == nullptr) return fail("rollout is not an object");
  const auto* phase = o->if_contains("phase");
  if (phase == nullptr || !phase->is_string()) return fail("rollout has no \"phase\"");

  RolloutView v;
  Fields r(*o, "rollout");
  v.phase = printable(phase->get_string());
  v.step = r.count("step");
  v.steps = r.count("steps");
  v.canary_weight = r.number("canary_weight");
  v.pause_until = r.string("pause_until");
  v.reason = r.string("reason");
  std::string error = r.error;
  if (const auto* a = r.object("analysis")) {
    Fields ar(*a, "analysis");
    AnalysisView analysis;
    analysis.stable = read_figures(ar.object("stable"), "analysis.stable", error);
    analysis.canary = read_figures(ar.object("canary"), "analysis.canary", error);
    analysis.verdict = ar.string("verdict");
    analysis.failures = ar.count("failures");
    if (error.empty()) error = ar.error;
    v.analysis = std::move(analysis);
  }
  if (error.empty()) error = r.error;
  if (!error.empty()) return fail(std::move(error));
  return v;
}

std::string step_fraction(const RolloutView& v) {
  if (!v.step) return {};
  return std::to_string(*v.step) + (v.steps ? "/" + std::to_string(*v.steps) : std::string());
}

std::string step_text(const RolloutView& v) { return v.step ? "step " + step_fraction(v) : std::string(); }

std::string pause_text(const RolloutView& v, std::chrono::system_clock::time_point now) {
  if (v.phase == "paused") return "paused: `canaryctl rollout resume` continues";
  if (v.pause_until.empty() || v.phase != "progressing") return {};
  std::string out = "until " + v.pause_until;
  if (const auto until = weights::parse_time(v.pause_until)) {
    out += " (" + duration_left(std::chrono::duration_cast<std::chrono::seconds>(*until - now)) + " left)";
  }
  return out;
}

std::string verdict_text(const RolloutView& v) {
  if (!v.analysis || v.analysis->verdict.empty()) return {};
  std::string out = v.analysis->verdict;
  if (v.analysis->failures && *v.analysis->failures > 0) {
    out += " (" + std::to_string(*v.analysis->failures) + " failed check" + (*v.analysis->failures == 1 ? ")" : "s)");
  }
  return out;
}

std::string error_rate_text(const std::optional<double>& percent) {
  return percent ? format_percent(*percent) + "%" : "-";
}

std::string p99_text(const std::optional<double>& ms) { return ms ? format_percent(*ms) + "ms" : "-"; }

std::string render_rollout(const RolloutView& v, std::chrono::system_clock::time_point now) {
  if (v.phase == "none") return "no rollout (start one with `canaryctl rollout start`)\n";
  std::vector<TableRow> head{{"PHASE", v.phase}};
  std::string step = step_fraction(v);
  if (v.canary_weight) step += (step.empty() ? "" : "  ") + ("weight " + format_percent(*v.canary_weight) + "%");
  if (!step.empty()) head.push_back({"STEP", step});
  if (auto pause = pause_text(v, now); !pause.empty()) head.push_back({"PAUSE", pause});
  if (auto verdict = verdict_text(v); !verdict.empty()) head.push_back({"VERDICT", verdict});
  if (!v.reason.empty()) head.push_back({"REASON", v.reason});
  std::string out = render_table(head);
  if (v.analysis) {
    std::vector<TableRow> rows{{"SET", "REQUESTS", "ERRORS", "P99"}};
    for (const auto& [name, f] : {std::pair{"stable", v.analysis->stable}, std::pair{"canary", v.analysis->canary}}) {
      rows.push_back({name, count_text(f.requests), error_rate_text(f.error_rate), p99_text(f.p99_ms)});
    }
    out += "\n" + render_table(rows);
  }
  return out;
}

std::string render_rollout_confirmation(Command command, const RolloutView& v) {
  std::string where = v.phase;
  if (auto step = step_text(v); !step.empty()) where += " at " + step;
  if (v.canary_weight) where += ", weight " + format_percent(*v.canary_weight) + "%";
  switch (command) {
    case Command::RolloutStart:
      return "rollout started: " + where + "\n";
    case Command::RolloutPause:
      return "rollout paused: " + where + "\n";
    case Command::RolloutResume:
      return "rollout resumed: " + where + "\n";
    case Command::RolloutAbort:
      return "rollout aborted: " + where + (v.reason.empty() ? "" : " (" + v.reason + ")") + "\n";
    case Command::RolloutPromote:
      return "rollout promoted: " + where + "\n";
    default:
      return "rollout " + where + "\n";
  }
}

}  // namespace canaryd::ctl
