// Reading the config's `rollout:` map (see rollout_loader.hpp): steps with a weight, a pause (a duration
// or `manual`) or `promote: true`, and the analysis settings, whose keys left out keep their defaults.
#include "config/rollout_loader.hpp"

#include <charconv>
#include <cmath>
#include <string>

#include "config/duration.hpp"

namespace canaryd::config::detail {
namespace {

/// A plain YAML number (`1`, `0.5`, `1e-3`), finite; quoted text, `.inf` and `.nan` are refused.
std::optional<double> read_number(const YAML::Node& node, std::string_view path, Diagnostics& diags) {
  if (node.IsScalar() && !is_string_scalar(node)) {
    const std::string& text = node.Scalar();
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc() && end == text.data() + text.size() && std::isfinite(value)) return value;
  }
  diags.add(path, "must be a number, got " + describe_node(node));
  return std::nullopt;
}

/// `pause: 2m` or `pause: manual`.
bool read_pause(const YAML::Node& node, const std::string& path, RolloutStep& step, Diagnostics& diags) {
  if (node.IsScalar() && node.Scalar() == "manual") {
    step.pause = PauseKind::Manual;
    return true;
  }
  const auto d = node.IsScalar() ? parse_duration(node.Scalar()) : std::nullopt;
  if (!d || d->count() == 0) {
    diags.add(path, "must be a duration such as 2m, or manual, got " + describe_node(node));
    return false;
  }
  step.pause = PauseKind::Timed;
  step.pause_for = *d;
  return true;
}

std::optional<RolloutStep> read_step(const YAML::Node& node, const std::string& path, Diagnostics& diags) {
  if (!node.IsMap()) {
    diags.add(path, "must be a map {weight: 5, pause: 2m}, {pause: manual} or {promote: true}, got " +
                        describe_node(node));
    return std::nullopt;
  }
  RolloutStep step;
  bool ok = true;
  visit_map(node, path, {"weight", "pause", "promote"}, diags,
            [&](const std::string& key, const YAML::Node& value, const std::string& field) {
              if (key == "weight") {
                step.weight = read_weight(value, field, diags);
                ok = step.weight.has_value() && ok;
              } else if (key == "pause") {
                ok = read_pause(value, field, step, diags) && ok;
              } else if (auto b = read_bool(value, field, diags); !b) {
                ok = false;
              } else if (!*b) {
                diags.add(field, "must be true (the step {promote: true} ends the rollout)");
                ok = false;
              } else {
                step.promote = true;
              }
            });
  if (!ok) return std::nullopt;
  return step;
}

std::optional<std::vector<RolloutStep>> read_steps(const YAML::Node& node, const std::string& path,
                                                   Diagnostics& diags) {
  if (!node.IsSequence()) {
    diags.add(path, "must be a list of steps such as {weight: 5, pause: 2m}, got " + describe_node(node));
    return std::nullopt;
  }
  std::vector<RolloutStep> steps;
  bool ok = true;
  for (std::size_t i = 0; i < node.size(); ++i) {
    auto step = read_step(node[i], item_path(path, i), diags);
    ok = step.has_value() && ok;
    if (step) steps.push_back(*step);
  }
  if (!ok) return std::nullopt;
  return steps;
}

/// One key of `analysis:` into `a`; false when refused (reported).
bool read_analysis_field(const std::string& key, const YAML::Node& value, const std::string& field,
                         AnalysisSettings& a, Diagnostics& diags) {
  if (key == "interval" || key == "window") {
    const auto d = read_duration(value, field, /*allow_zero=*/false, diags);
    if (d) (key == "interval" ? a.interval : a.window) = *d;
    return d.has_value();
  }
  if (key == "min_requests" || key == "failure_limit") {
    const bool requests = key == "min_requests";
    const auto v = read_integer(value, field, 1, requests ? kMaxMinRequests : kMaxFailureLimit, diags);
    if (v && requests) a.min_requests = *v;
    if (v && !requests) a.failure_limit = static_cast<unsigned>(*v);
    return v.has_value();
  }
  const auto v = read_number(value, field, diags);
  if (!v) return false;
  if (key == "max_error_rate") a.max_error_rate = *v;
  if (key == "max_error_ratio") a.max_error_ratio = *v;
  if (key == "alpha") a.alpha = *v;
  if (key == "max_p99_ratio") a.max_p99_ratio = *v;
  return true;
}

std::optional<AnalysisSettings> read_analysis(const YAML::Node& node, const std::string& path, Diagnostics& diags) {
  if (!expect_section(node, path, "a map {interval, window, min_requests, max_error_rate, ...}", diags)) {
    return std::nullopt;
  }
  AnalysisSettings a;  // `analysis:` with every key left out (or null): all the defaults
  bool ok = true;
  if (!node.IsNull()) {
    visit_map(node, path,
              {"interval", "window", "min_requests", "max_error_rate", "max_error_ratio", "alpha", "max_p99_ratio",
               "failure_limit"},
              diags, [&](const std::string& key, const YAML::Node& value, const std::string& field) {
                ok = read_analysis_field(key, value, field, a, diags) && ok;
              });
  }
  if (!ok) return std::nullopt;
  return a;
}

}  // namespace

std::optional<RolloutPlan> read_rollout_plan(const YAML::Node& node, std::string_view path, Diagnostics& diags) {
  if (!expect_section(node, path, "a map {steps: [...], analysis: {...}}", diags) || node.IsNull()) {
    return std::nullopt;
  }
  const std::size_t before = diags.count();
  RolloutPlan plan;
  const auto present = visit_map(node, path, {"steps", "analysis"}, diags,
                                 [&](const std::string& key, const YAML::Node& value, const std::string& field) {
                                   if (key == "steps") {
                                     if (auto steps = read_steps(value, field, diags)) plan.steps = std::move(*steps);
                                   } else {
                                     plan.analysis = read_analysis(value, field, diags);
                                   }
                                 });
  if (!present.count("steps")) {
    diags.add(child_path(path, "steps"), "required (a list of steps such as {weight: 5, pause: 2m})");
  }
  if (diags.count() != before) return std::nullopt;
  // The rules between fields, named from `steps`/`analysis` on: prefixed with where the map is.
  if (auto valid = validate(plan); !valid) {
    const std::string& message = valid.error().message;
    const std::size_t colon = message.find(": ");
    if (colon == std::string::npos) {
      diags.add(path, message);
    } else {
      diags.add(child_path(path, message.substr(0, colon)), message.substr(colon + 2));
    }
    return std::nullopt;
  }
  return plan;
}

}  // namespace canaryd::config::detail
