// A rollout plan to and from JSON (see rollout_plan_json.hpp): strict like every request body (unknown
// fields refused, weights by their text, no coercion of strings to numbers).
#include "weights/rollout_plan_json.hpp"

#include <initializer_list>
#include <string>
#include <string_view>

#include "config/duration.hpp"
#include "config/weight.hpp"

namespace canaryd::weights {
namespace {

namespace json = boost::json;
using config::AnalysisSettings;
using config::PauseKind;
using config::RolloutStep;

/// `where: unknown field "k"` for the first key of `o` outside `known` (`where` empty at the top).
Result<void> check_fields(const json::object& o, const std::string& where,
                          std::initializer_list<std::string_view> known) {
  for (const auto& kv : o) {
    bool ok = false;
    for (const auto name : known) ok = ok || kv.key() == name;
    if (!ok) return fail((where.empty() ? "" : where + ": ") + "unknown field \"" + std::string(kv.key()) + "\"");
  }
  return {};
}

Result<void> read_pause(const json::value& v, const std::string& field, RolloutStep& step) {
  const json::string* text = v.if_string();
  if (text != nullptr && *text == "manual") {
    step.pause = PauseKind::Manual;
    return {};
  }
  const auto d = text != nullptr ? config::parse_duration(std::string_view(*text)) : std::nullopt;
  if (!d || d->count() == 0) return fail(field + ": must be a duration like \"2m\", or \"manual\"");
  step.pause = PauseKind::Timed;
  step.pause_for = *d;
  return {};
}

Result<RolloutStep> read_step(const json::value& v, std::size_t index, const NumberTexts* numbers) {
  const std::string where = "steps[" + std::to_string(index) + "]";
  const json::object* o = v.if_object();
  if (o == nullptr) {
    return fail(where + ": must be an object such as {\"weight\": 5, \"pause\": \"2m\"}, got " +
                std::string(json_kind_name(v)));
  }
  if (auto ok = check_fields(*o, where, {"weight", "pause", "promote"}); !ok) return fail(std::move(ok).error());
  RolloutStep step;
  if (const json::value* w = o->if_contains("weight")) {
    const std::string pointer = "/steps/" + std::to_string(index) + "/weight";
    auto bp = json_weight(*w, numbers != nullptr ? numbers->find(pointer) : nullptr, where + ".weight");
    if (!bp) return fail(std::move(bp).error());
    step.weight = *bp;
  }
  if (const json::value* p = o->if_contains("pause")) {
    if (auto ok = read_pause(*p, where + ".pause", step); !ok) return fail(std::move(ok).error());
  }
  if (const json::value* p = o->if_contains("promote")) {
    if (!p->is_bool() || !p->get_bool()) {
      return fail(where + ".promote: must be true (a step {\"promote\": true} ends the rollout)");
    }
    step.promote = true;
  }
  return step;
}

Result<std::chrono::milliseconds> read_duration(const json::value& v, const std::string& field) {
  const json::string* text = v.if_string();
  const auto d = text != nullptr ? config::parse_duration(std::string_view(*text)) : std::nullopt;
  if (!d || d->count() == 0) return fail(field + ": must be a positive duration like \"10s\"");
  return *d;
}

/// One key of "analysis" into `a`.
Result<void> read_analysis_field(std::string_view key, const json::value& v, AnalysisSettings& a) {
  const std::string field = "analysis." + std::string(key);
  if (key == "interval" || key == "window") {
    auto d = read_duration(v, field);
    if (!d) return fail(std::move(d).error());
    (key == "interval" ? a.interval : a.window) = *d;
    return {};
  }
  if (key == "min_requests" || key == "failure_limit") {
    const bool requests = key == "min_requests";
    const std::uint64_t max = requests ? config::kMaxMinRequests : config::kMaxFailureLimit;
    std::uint64_t value = 0;  // stays 0 (refused) for anything but a non-negative integer
    if (v.is_uint64()) value = v.get_uint64();
    if (v.is_int64() && v.get_int64() > 0) value = static_cast<std::uint64_t>(v.get_int64());
    if (value == 0 || value > max) {
      return fail(field + ": must be an integer from 1 to " + std::to_string(max));
    }
    if (requests) a.min_requests = value;
    if (!requests) a.failure_limit = static_cast<unsigned>(value);
    return {};
  }
  if (!v.is_number()) return fail(field + ": must be a number, got " + std::string(json_kind_name(v)));
  const double x = v.to_number<double>();
  if (key == "max_error_rate") a.max_error_rate = x;
  if (key == "max_error_ratio") a.max_error_ratio = x;
  if (key == "alpha") a.alpha = x;
  if (key == "max_p99_ratio") a.max_p99_ratio = x;
  return {};
}

Result<AnalysisSettings> read_analysis(const json::value& v) {
  const json::object* o = v.if_object();
  if (o == nullptr) return fail("analysis: must be an object, got " + std::string(json_kind_name(v)));
  if (auto ok = check_fields(*o, "analysis",
                             {"interval", "window", "min_requests", "max_error_rate", "max_error_ratio", "alpha",
                              "max_p99_ratio", "failure_limit"});
      !ok) {
    return fail(std::move(ok).error());
  }
  AnalysisSettings a;
  for (const auto& kv : *o) {
    if (auto ok = read_analysis_field(kv.key(), kv.value(), a); !ok) return fail(std::move(ok).error());
  }
  return a;
}

}  // namespace

bool has_plan_fields(const json::object& body) {
  for (const auto& kv : body) {
    if (kv.key() != "cause" && kv.key() != "if_revision") return true;
  }
  return false;
}

Result<config::RolloutPlan> plan_from_json(const json::value& body, const NumberTexts* numbers) {
  const json::object* o = body.if_object();
  if (o == nullptr) return fail("a rollout plan must be a JSON object");
  if (auto ok = check_fields(*o, "", {"steps", "analysis", "cause", "if_revision"}); !ok) {
    return fail(std::move(ok).error());
  }
  const json::value* steps = o->if_contains("steps");
  if (steps == nullptr) return fail("steps: required (a list of steps such as {\"weight\": 5, \"pause\": \"2m\"})");
  const json::array* list = steps->if_array();
  if (list == nullptr) return fail("steps: must be an array, got " + std::string(json_kind_name(*steps)));
  if (list->size() > config::kMaxRolloutSteps) {
    return fail("steps: at most " + std::to_string(config::kMaxRolloutSteps) + " steps");
  }
  config::RolloutPlan plan;
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto step = read_step((*list)[i], i, numbers);
    if (!step) return fail(std::move(step).error());
    plan.steps.push_back(*step);
  }
  if (const json::value* a = o->if_contains("analysis"); a != nullptr && !a->is_null()) {
    auto analysis = read_analysis(*a);
    if (!analysis) return fail(std::move(analysis).error());
    plan.analysis = *analysis;
  }
  if (auto valid = config::validate(plan); !valid) return fail(std::move(valid).error());
  return plan;
}

json::object plan_to_json(const config::RolloutPlan& plan) {
  json::array steps;
  for (const RolloutStep& s : plan.steps) {
    json::object step;
    if (s.weight) step["weight"] = config::weight_percent(*s.weight);
    if (s.pause == PauseKind::Timed) step["pause"] = config::format_duration(s.pause_for);
    if (s.pause == PauseKind::Manual) step["pause"] = "manual";
    if (s.promote) step["promote"] = true;
    steps.push_back(std::move(step));
  }
  json::object out;
  out["steps"] = std::move(steps);
  if (plan.analysis) {
    const AnalysisSettings& a = *plan.analysis;
    out["analysis"] = json::object{{"interval", config::format_duration(a.interval)},
                                   {"window", config::format_duration(a.window)},
                                   {"min_requests", a.min_requests},
                                   {"max_error_rate", a.max_error_rate},
                                   {"max_error_ratio", a.max_error_ratio},
                                   {"alpha", a.alpha},
                                   {"max_p99_ratio", a.max_p99_ratio},
                                   {"failure_limit", a.failure_limit}};
  }
  return out;
}

}  // namespace canaryd::weights
