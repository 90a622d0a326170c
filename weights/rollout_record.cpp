// The rollout record's phases by name, and the record to and from the state file's JSON (see
// rollout_record.hpp): {"plan", "phase", "step", "pause_until", "pause_left_ms", "reason", "driver",
// "started_revision"}, checked on load so that a corrupt file is refused rather than half-read.
#include "weights/rollout_record.hpp"

#include <cstdio>
#include <set>
#include <string_view>

#include "weights/revision_json.hpp"
#include "weights/rollout_plan_json.hpp"
#include "weights/routing_state.hpp"

namespace canaryd::weights {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

constexpr RolloutPhase kPhases[] = {RolloutPhase::Progressing, RolloutPhase::Paused, RolloutPhase::Completed,
                                    RolloutPhase::Aborted};

/// RFC 3339 UTC with milliseconds when there are any ("2026-12-05T10:00:00.250Z"): a pause deadline
/// survives a restart to the millisecond, neither shortened nor extended.
std::string format_deadline(Clock::time_point t) {
  const auto ms = std::chrono::floor<milliseconds>(t.time_since_epoch());
  const auto seconds = std::chrono::floor<std::chrono::seconds>(ms);
  const auto rest = (ms - seconds).count();
  std::string text = format_time(Clock::time_point{seconds});
  if (rest == 0) return text;
  char fraction[6];
  std::snprintf(fraction, sizeof fraction, ".%03d", static_cast<int>(rest));
  text.insert(text.size() - 1, fraction);
  return text;
}

/// What format_deadline prints.
std::optional<Clock::time_point> parse_deadline(std::string_view text) {
  const std::size_t dot = text.find('.');
  if (dot == std::string_view::npos) return parse_time(std::string(text));
  const std::string_view fraction = text.substr(dot + 1);
  if (fraction.size() != 4 || fraction[3] != 'Z') return std::nullopt;
  int ms = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    if (fraction[i] < '0' || fraction[i] > '9') return std::nullopt;
    ms = ms * 10 + (fraction[i] - '0');
  }
  const auto whole = parse_time(std::string(text.substr(0, dot)) + "Z");
  if (!whole) return std::nullopt;
  return *whole + milliseconds(ms);
}

const json::string* string_field(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr ? v->if_string() : nullptr;
}

/// The optional pause fields into `r`.
Result<void> read_pause_fields(const json::object& o, const std::string& where, RolloutRecord& r) {
  if (const json::value* until = o.if_contains("pause_until")) {
    const json::string* text = until->if_string();
    const auto t = text != nullptr ? parse_deadline(std::string_view(*text)) : std::nullopt;
    if (!t) return fail(where + ".pause_until: must be an RFC 3339 UTC time like 2026-12-05T10:00:00Z");
    r.pause_until = *t;
  }
  if (const json::value* left = o.if_contains("pause_left_ms")) {
    const auto ms = json_unsigned(*left);
    if (!ms || *ms > static_cast<std::uint64_t>(config::kMaxRolloutPause.count())) {
      return fail(where + ".pause_left_ms: must be an integer from 0 to " +
                  std::to_string(config::kMaxRolloutPause.count()));
    }
    r.pause_left = milliseconds(static_cast<milliseconds::rep>(*ms));
  }
  return {};
}

}  // namespace

const char* phase_name(RolloutPhase phase) {
  switch (phase) {
    case RolloutPhase::Progressing: return "progressing";
    case RolloutPhase::Paused: return "paused";
    case RolloutPhase::Completed: return "completed";
    case RolloutPhase::Aborted: return "aborted";
  }
  return "progressing";
}

std::optional<RolloutPhase> parse_phase(std::string_view text) {
  for (const RolloutPhase p : kPhases) {
    if (text == phase_name(p)) return p;
  }
  return std::nullopt;
}

json::object rollout_to_json(const RolloutRecord& r) {
  json::object o;
  o["plan"] = plan_to_json(r.plan);
  o["phase"] = phase_name(r.phase);
  o["step"] = r.step;
  if (r.pause_until) o["pause_until"] = format_deadline(*r.pause_until);
  if (r.pause_left) o["pause_left_ms"] = r.pause_left->count();
  o["reason"] = r.reason;
  o["driver"] = r.driver;
  o["started_revision"] = r.started_revision;
  return o;
}

Result<RolloutRecord> rollout_from_json(const json::value& v, const std::string& where) {
  const json::object* o = v.if_object();
  if (o == nullptr) return fail(where + ": must be an object");
  static const std::set<std::string, std::less<>> kRequired = {"plan",   "phase",  "step",
                                                               "reason", "driver", "started_revision"};
  for (const auto& kv : *o) {
    const std::string_view key = kv.key();
    if (!kRequired.contains(key) && key != "pause_until" && key != "pause_left_ms") {
      return fail(where + ": unknown field \"" + std::string(key) + "\"");
    }
  }
  for (const auto& key : kRequired) {
    if (!o->contains(key)) return fail(where + ": missing field \"" + key + "\"");
  }
  RolloutRecord r;
  auto plan = plan_from_json(o->at("plan"));
  if (!plan) return fail(where + ".plan." + plan.error().message);
  r.plan = std::move(*plan);

  const json::string* phase_text = string_field(*o, "phase");
  const auto phase = phase_text != nullptr ? parse_phase(std::string_view(*phase_text)) : std::nullopt;
  if (!phase) return fail(where + ".phase: must be progressing, paused, completed or aborted");
  r.phase = *phase;

  const auto step = json_unsigned(o->at("step"));
  if (!step || *step == 0 || *step > r.steps()) {
    return fail(where + ".step: must be an integer from 1 to " + std::to_string(r.steps()) + " (the plan's steps)");
  }
  r.step = static_cast<unsigned>(*step);

  if (auto ok = read_pause_fields(*o, where, r); !ok) return fail(std::move(ok).error());

  const json::string* reason = string_field(*o, "reason");
  const json::string* driver = string_field(*o, "driver");
  if (reason == nullptr) return fail(where + ".reason: must be a string");
  if (driver == nullptr) return fail(where + ".driver: must be a string");
  r.reason = std::string(*reason);
  r.driver = std::string(*driver);

  const auto started = json_unsigned(o->at("started_revision"));
  if (!started) return fail(where + ".started_revision: must be a non-negative integer");
  r.started_revision = *started;
  return r;
}

}  // namespace canaryd::weights
