// What a SIGHUP reload changed, for its log line: the configuration keys whose values differ, and the
// notice that a changed service.canary_weight does not move the weight (the routing state decides it).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace canaryd::proxy {

/// The keys whose values differ between the running config and the one read from the file, in the
/// file's order: top-level keys, `service` by its fields (`service.canary_weight`), and `endpoints`
/// with what was added and removed (`endpoints (+1 -0)`). Empty when nothing changed.
std::vector<std::string> changed_keys(const config::Config& running, const config::Config& next);

/// `a, b, c`, or "nothing" for an empty list.
std::string join_changes(const std::vector<std::string>& keys);

/// When the file's service.canary_weight changed and differs from the weight in force: the line that
/// says the routing state (`state_location`) keeps its weight, and the command that applies the file's.
std::optional<std::string> canary_weight_notice(const config::Config& running, const config::Config& next,
                                                config::BasisPoints in_force, std::string_view state_location);

}  // namespace canaryd::proxy
