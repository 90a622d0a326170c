// What a reload changed (see reload_changes.hpp).
#include "proxy/control/reload_changes.hpp"

#include <algorithm>

namespace canaryd::proxy {
namespace {

std::string endpoint_changes(const std::vector<config::Endpoint>& before, const std::vector<config::Endpoint>& after) {
  auto missing_from = [](const std::vector<config::Endpoint>& from, const std::vector<config::Endpoint>& in) {
    return std::count_if(from.begin(), from.end(),
                         [&](const config::Endpoint& e) { return std::find(in.begin(), in.end(), e) == in.end(); });
  };
  return "endpoints (+" + std::to_string(missing_from(after, before)) + " -" + std::to_string(missing_from(before, after)) +
         ")";
}

}  // namespace

std::vector<std::string> changed_keys(const config::Config& a, const config::Config& b) {
  std::vector<std::string> out;
  auto note = [&](bool same, const char* key) {
    if (!same) out.emplace_back(key);
  };
  note(a.listen == b.listen, "listen");
  note(a.threads == b.threads, "threads");
  note(a.control == b.control, "control");
  note(a.state_file == b.state_file, "state_file");
  note(a.history_limit == b.history_limit, "history_limit");
  if (a.endpoints != b.endpoints) out.push_back(endpoint_changes(a.endpoints, b.endpoints));
  note(a.service.selector == b.service.selector, "service.selector");
  note(a.service.stable == b.service.stable, "service.stable");
  note(a.service.canary == b.service.canary, "service.canary");
  note(a.service.canary_weight == b.service.canary_weight, "service.canary_weight");
  note(a.routing == b.routing, "routing");
  note(a.timeouts == b.timeouts, "timeouts");
  note(a.limits == b.limits, "limits");
  note(a.health == b.health, "health");
  note(a.discovery == b.discovery, "discovery");
  note(a.state_configmap == b.state_configmap, "state");
  note(a.rollout == b.rollout, "rollout");
  note(a.access_log == b.access_log, "access_log");
  note(a.log_format == b.log_format, "log_format");
  return out;
}

std::string join_changes(const std::vector<std::string>& keys) {
  if (keys.empty()) return "nothing";
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out;
}

std::optional<std::string> canary_weight_notice(const config::Config& running, const config::Config& next,
                                                config::BasisPoints in_force, std::string_view state_location) {
  const config::BasisPoints wanted = next.service.canary_weight;
  if (wanted == running.service.canary_weight || wanted == in_force) return std::nullopt;
  const std::string w = config::format_weight(wanted);
  return "reload: service.canary_weight is now " + w + " in " + next.source + ", but the routing state in " +
         std::string(state_location) + " decides the weight and keeps " + config::format_weight(in_force) +
         "% (the file's weight is used only when there is no state); to apply it: canaryctl weight " + w;
}

}  // namespace canaryd::proxy
