// Reading Pod objects, list answers and watch events into a PodSet (see kube_pods.hpp).
#include "proxy/kube/kube_pods.hpp"

#include <boost/json.hpp>

namespace canaryd::proxy {
namespace json = boost::json;

namespace {

const json::object* object_at(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_object() ? &it->value().get_object() : nullptr;
}

std::string string_at(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
}

}  // namespace

std::optional<config::HostPort> Pod::address(const config::KubernetesDiscovery& d) const {
  if (ip.empty() || !ready || terminating) return std::nullopt;
  std::uint16_t port = d.port_number;
  if (!d.port_name.empty()) {
    auto it = named_ports.find(d.port_name);
    if (it == named_ports.end()) return std::nullopt;
    port = it->second;
  }
  return config::HostPort{ip, port};
}

Result<Pod> parse_pod(const json::value& value) {
  const json::object* o = value.if_object();
  const json::object* meta = o ? object_at(*o, "metadata") : nullptr;
  if (!meta) return fail("not a Pod object (no metadata)");
  Pod pod;
  pod.name = string_at(*meta, "name");
  if (pod.name.empty()) return fail("a Pod without metadata.name");
  if (const json::object* labels = object_at(*meta, "labels")) {
    for (const auto& [k, v] : *labels)
      if (v.is_string()) pod.labels.emplace(std::string(k), std::string(v.get_string()));
  }
  if (auto it = meta->find("deletionTimestamp"); it != meta->end() && !it->value().is_null()) pod.terminating = true;
  if (const json::object* status = object_at(*o, "status")) {
    pod.ip = string_at(*status, "podIP");
    if (auto it = status->find("conditions"); it != status->end() && it->value().is_array()) {
      for (const auto& c : it->value().get_array()) {
        if (!c.is_object()) continue;
        if (string_at(c.get_object(), "type") == "Ready") pod.ready = string_at(c.get_object(), "status") == "True";
      }
    }
  }
  if (const json::object* spec = object_at(*o, "spec")) {
    if (auto it = spec->find("containers"); it != spec->end() && it->value().is_array()) {
      for (const auto& c : it->value().get_array()) {
        const json::object* container = c.if_object();
        if (!container) continue;
        auto ports = container->find("ports");
        if (ports == container->end() || !ports->value().is_array()) continue;
        for (const auto& p : ports->value().get_array()) {
          const json::object* port = p.if_object();
          if (!port) continue;
          std::string name = string_at(*port, "name");
          auto number = port->find("containerPort");
          if (name.empty() || number == port->end() || !number->value().is_int64()) continue;
          const auto n = number->value().get_int64();
          if (n > 0 && n < 65536) pod.named_ports.emplace(std::move(name), static_cast<std::uint16_t>(n));
        }
      }
    }
  }
  return pod;
}

Result<void> PodSet::apply_list(const json::value& list) {
  const json::object* o = list.if_object();
  const json::object* meta = o ? object_at(*o, "metadata") : nullptr;
  const json::value* items = o ? o->if_contains("items") : nullptr;
  if (!meta || !items || (!items->is_array() && !items->is_null())) return fail("not a PodList");
  std::map<std::string, Pod> pods;
  if (items->is_array()) {
    for (const auto& item : items->get_array()) {
      auto pod = parse_pod(item);
      if (!pod) return fail(std::move(pod).error());
      std::string name = pod->name;
      pods.emplace(std::move(name), std::move(*pod));
    }
  }
  pods_ = std::move(pods);
  resource_version_ = string_at(*meta, "resourceVersion");
  return {};
}

Result<PodSet::EventResult> PodSet::apply_event(const json::value& event) {
  const json::object* e = event.if_object();
  const json::object* object = e ? object_at(*e, "object") : nullptr;
  const std::string type = e ? string_at(*e, "type") : "";
  if (!object) return fail("not a watch event");
  if (type == "ERROR") {
    // A watch from a resourceVersion the server no longer has ends with a Status of code 410.
    auto code = object->find("code");
    if (code != object->end() && code->value().is_int64() && code->value().get_int64() == 410) return EventResult::Expired;
    return fail("watch error: " + string_at(*object, "message"));
  }
  const json::object* meta = object_at(*object, "metadata");
  std::string version = meta ? string_at(*meta, "resourceVersion") : "";
  if (type == "BOOKMARK") {
    if (!version.empty()) resource_version_ = std::move(version);
    return EventResult::Unchanged;
  }
  if (type != "ADDED" && type != "MODIFIED" && type != "DELETED")
    return fail("unknown watch event type \"" + type + "\"");
  auto pod = parse_pod(json::value(*object));
  if (!pod) return fail(std::move(pod).error());
  if (!version.empty()) resource_version_ = std::move(version);
  if (type == "DELETED") {
    pods_.erase(pod->name);
  } else {
    std::string name = pod->name;
    pods_.insert_or_assign(std::move(name), std::move(*pod));
  }
  return EventResult::Changed;
}

std::vector<config::Endpoint> PodSet::endpoints(const config::KubernetesDiscovery& d) const {
  std::vector<config::Endpoint> out;
  for (const auto& [name, pod] : pods_) {
    auto address = pod.address(d);
    if (!address) continue;
    out.push_back(config::Endpoint{std::move(*address), pod.labels, std::nullopt, name});
  }
  return out;
}

}  // namespace canaryd::proxy
