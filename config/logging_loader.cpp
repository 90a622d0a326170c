// The logging keys of the configuration (see logging_loader.hpp).
#include "config/logging_loader.hpp"

#include <string>

namespace canaryd::config::detail {

std::optional<AccessLog> read_access_log(const YAML::Node& node, std::string_view path, Diagnostics& diags) {
  AccessLog log;
  if (!expect_section(node, path, "a map {path: FILE, format: json}", diags)) return std::nullopt;
  if (node.IsNull()) return log;
  bool ok = true;
  visit_map(node, path, {"path", "format"}, diags,
            [&](const std::string& key, const YAML::Node& value, const std::string& field) {
              auto v = read_string(value, field, diags);
              if (!v) {
                ok = false;
              } else if (key == "path") {
                if (v->find('\0') != std::string::npos || v->find('\n') != std::string::npos) {
                  diags.add(field, "must be a file path on one line");
                  ok = false;
                }
                log.path = *v;
              } else if (*v != "json") {
                diags.add(field, "must be json (the only access log format), got \"" + *v + "\"");
                ok = false;
              }
            });
  if (!ok) return std::nullopt;
  return log;
}

std::optional<LogFormat> read_log_format(const YAML::Node& node, std::string_view path, Diagnostics& diags) {
  if (node.IsScalar() && !node.Scalar().empty()) {
    if (node.Scalar() == "text") return LogFormat::Text;
    if (node.Scalar() == "json") return LogFormat::Json;
  }
  diags.add(path, "must be text or json, got " + describe_node(node));
  return std::nullopt;
}

}  // namespace canaryd::config::detail
