#include "proxy/configmap_state.hpp"

#include <algorithm>
#include <thread>

#include <boost/json.hpp>

namespace canaryd::proxy {
namespace json = boost::json;
namespace http = boost::beast::http;
using weights::StateStore;

std::optional<ConfigMapState> parse_configmap(const json::value& value, unsigned limit, std::string& error) {
  const json::object* o = value.if_object();
  const json::value* meta = o ? o->if_contains("metadata") : nullptr;
  if (!meta || !meta->is_object()) {
    error = "not a ConfigMap";
    return std::nullopt;
  }
  ConfigMapState out;
  if (const auto* rv = meta->get_object().if_contains("resourceVersion"); rv && rv->is_string())
    out.resource_version = rv->get_string().c_str();
  const json::value* data = o->if_contains("data");
  const json::value* text = data && data->is_object() ? data->get_object().if_contains(kStateKey) : nullptr;
  if (!text) return out;
  if (!text->is_string()) {
    error = std::string("data.") + kStateKey + " is not a string";
    return std::nullopt;
  }
  out.history = weights::history_from_json(std::string(text->get_string()), limit, error);
  if (!out.history) {
    error = std::string("data.") + kStateKey + ": " + error;
    return std::nullopt;
  }
  return out;
}

std::string configmap_json(const std::string& ns, const std::string& name, const std::string& resource_version,
                           const weights::RoutingHistory& history) {
  json::object meta;
  meta["name"] = name;
  meta["namespace"] = ns;
  if (!resource_version.empty()) meta["resourceVersion"] = resource_version;
  json::object labels;
  labels["app.kubernetes.io/managed-by"] = "canaryd";
  meta["labels"] = std::move(labels);
  json::object data;
  data[kStateKey] = weights::history_to_json(history);
  json::object cm;
  cm["apiVersion"] = "v1";
  cm["kind"] = "ConfigMap";
  cm["metadata"] = std::move(meta);
  cm["data"] = std::move(data);
  return json::serialize(cm);
}

ConfigMapStateBackend::ConfigMapStateBackend(std::unique_ptr<KubeClient> client, std::string ns, std::string name)
    : client_(std::move(client)), ns_(std::move(ns)), name_(std::move(name)) {}

std::string ConfigMapStateBackend::item_path() const {
  return "/api/v1/namespaces/" + ns_ + "/configmaps/" + name_;
}

StateStore::Loaded ConfigMapStateBackend::load(unsigned limit) {
  StateStore::Loaded out;
  KubeResponse r = client_->request_blocking(http::verb::get, item_path(), "", kTimeout);
  if (r.status == 404) {
    resource_version_.clear();
    out.kind = StateStore::Loaded::Kind::Missing;
    return out;
  }
  out.kind = StateStore::Loaded::Kind::Corrupt;
  if (!r.ok()) {
    out.error = "ConfigMap " + ns_ + "/" + name_ + " cannot be read from " + client_->server() + ": " + r.describe();
    return out;
  }
  boost::system::error_code ec;
  auto doc = json::parse(r.body, ec);
  std::string error;
  auto state = ec ? std::nullopt : parse_configmap(doc, limit, error);
  if (!state) {
    out.error = "ConfigMap " + ns_ + "/" + name_ + ": " + (ec ? ec.message() : error);
    return out;
  }
  resource_version_ = state->resource_version;
  if (!state->history) {
    // It exists (an operator may create it empty, so that the Role needs no `create`), without state yet.
    out.kind = StateStore::Loaded::Kind::Missing;
    return out;
  }
  known_revision_ = state->history->current().revision;
  out.kind = StateStore::Loaded::Kind::Ok;
  out.history = std::move(state->history);
  return out;
}

weights::StateBackend::SaveResult ConfigMapStateBackend::save(const weights::RoutingHistory& h, std::string& error) {
  const bool create = resource_version_.empty();
  // Never unconditional: without a known version the ConfigMap is created, and that fails if it exists.
  KubeResponse r = create ? client_->request_blocking(http::verb::post, "/api/v1/namespaces/" + ns_ + "/configmaps",
                                                      configmap_json(ns_, name_, "", h), kTimeout)
                          : client_->request_blocking(http::verb::put, item_path(),
                                                      configmap_json(ns_, name_, resource_version_, h), kTimeout);
  if (r.status == 409 || (r.status == 404 && !create)) {
    // 409: a stale version or AlreadyExists; 404: deleted meanwhile, so the next attempt creates it.
    if (r.status == 404) resource_version_.clear();
    // Two replicas that keep conflicting would otherwise retry in lockstep, and one that writes back to
    // back would starve the other: wait a random few milliseconds, longer with each conflict in a row
    // (as client-go's RetryOnConflict does).
    ++conflicts_in_a_row_;
    std::uniform_int_distribution<int> jitter(1, 5);
    std::this_thread::sleep_for(std::chrono::milliseconds(jitter(random_) * std::min(conflicts_in_a_row_, 8)));
    return SaveResult::Conflict;
  }
  conflicts_in_a_row_ = 0;
  if (!r.ok()) {
    error = "ConfigMap " + ns_ + "/" + name_ + " not written: " + r.describe();
    return SaveResult::Failed;
  }
  boost::system::error_code ec;
  auto doc = json::parse(r.body, ec);
  std::string parse_error;
  auto state = ec ? std::nullopt : parse_configmap(doc, h.limit(), parse_error);
  // Accepted: the API server has it. Without a readable answer the next save conflicts and re-reads.
  resource_version_ = state ? state->resource_version : std::string("unknown");
  known_revision_ = h.current().revision;
  return SaveResult::Saved;
}

void ConfigMapStateBackend::observed(const std::string& resource_version, std::uint64_t revision) {
  if (revision < known_revision_) return;
  known_revision_ = revision;
  resource_version_ = resource_version;
}

void ConfigMapStateBackend::deleted() { resource_version_.clear(); }

}  // namespace canaryd::proxy
