// Internal to the config loader: the logging keys, `access_log: {path, format}` (contract section 10) and
// `log_format: text|json` (the process log), read from YAML with every problem named by its field.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string_view>

#include "config/config.hpp"
#include "config/yaml_fields.hpp"

namespace canaryd::config::detail {

/// Reads `access_log:` at `path`: {path: FILE, format: json}. A null section or an empty path means
/// off. nullopt when anything was reported.
std::optional<AccessLog> read_access_log(const YAML::Node& node, std::string_view path, Diagnostics& diags);

/// Reads `log_format:` at `path`: `text` or `json`.
std::optional<LogFormat> read_log_format(const YAML::Node& node, std::string_view path, Diagnostics& diags);

}  // namespace canaryd::config::detail
