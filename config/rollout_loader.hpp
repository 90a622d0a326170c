// Internal to the config loader: the top-level `rollout:` map (the default rollout plan, contract section
// 7) read from YAML into config::RolloutPlan, every problem reported with its field path.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string_view>

#include "config/rollout_plan.hpp"
#include "config/yaml_fields.hpp"

namespace canaryd::config::detail {

/// Reads `rollout:` at `path` ("rollout"): {steps: [...], analysis: {...}}. A null section means no
/// plan (nullopt without a problem). Field problems are reported as `rollout.steps[2].pause: ...`; when
/// the fields read cleanly, validate(RolloutPlan) adds the rules between them. nullopt when anything
/// was reported.
std::optional<RolloutPlan> read_rollout_plan(const YAML::Node& node, std::string_view path, Diagnostics& diags);

}  // namespace canaryd::config::detail
