// The watch of the state ConfigMap (see configmap_state_watch.hpp): newer histories to the control service,
// resourceVersions to the backend.
#include "proxy/kube/configmap_state_watch.hpp"

#include "proxy/net/log.hpp"

namespace canaryd::proxy {
namespace json = boost::json;

ConfigMapStateWatch::ConfigMapStateWatch(boost::asio::io_context& io, std::unique_ptr<KubeClient> client,
                                         std::string ns, ConfigMapStateBackend& backend,
                                         weights::ControlService& control)
    : client_(std::move(client)),
      ns_(std::move(ns)),
      backend_(backend),
      control_(control),
      watch_(io, *client_, "ConfigMap " + ns_ + "/" + backend.name(),
             KubeListWatch::Handlers{
                 [this](const json::value& object) -> Result<void> {
                   // The ConfigMap itself (GET, so that the Role needs no `list`); null: it does not
                   // exist yet. The watch then starts from now (it first sends the object as ADDED):
                   // an unchanged object's own resourceVersion may be older than the server's
                   // compacted history, and a watch from it would get 410 again and again.
                   resource_version_.clear();
                   if (object.is_null()) return {};
                   if (!object.is_object() || !object.get_object().if_contains("metadata"))
                     return fail("not a ConfigMap");
                   take(object);
                   return {};
                 },
                 [this](const json::value& event) -> Result<KubeListWatch::EventResult> {
                   const json::object* e = event.if_object();
                   const json::value* type = e ? e->if_contains("type") : nullptr;
                   const json::value* object = e ? e->if_contains("object") : nullptr;
                   if (!type || !type->is_string() || !object || !object->is_object())
                     return fail("not a watch event");
                   const std::string_view t = type->get_string();
                   const json::object& obj = object->get_object();
                   if (t == "ERROR") {
                     const json::value* code = obj.if_contains("code");
                     if (code && code->is_int64() && code->get_int64() == 410) return KubeListWatch::EventResult::Expired;
                     return fail("watch error");
                   }
                   if (const auto* meta = obj.if_contains("metadata"); meta && meta->is_object()) {
                     if (const auto* rv = meta->get_object().if_contains("resourceVersion"); rv && rv->is_string())
                       resource_version_ = rv->get_string().c_str();
                   }
                   if (t == "DELETED") {
                     log_line("kubernetes: the state ConfigMap " + ns_ + "/" + backend_.name() +
                              " was deleted; the next change writes it again");
                     backend_.deleted();
                   } else if (t == "ADDED" || t == "MODIFIED") {
                     take(*object);
                   }
                   return KubeListWatch::EventResult::Applied;
                 },
                 [this] { return resource_version_; }}) {}

void ConfigMapStateWatch::start() {
  const std::string collection = "/api/v1/namespaces/" + ns_ + "/configmaps";
  watch_.start(collection + "?fieldSelector=metadata.name%3D" + backend_.name(), collection + "/" + backend_.name());
}

void ConfigMapStateWatch::take(const json::value& object) {
  auto state = parse_configmap(object, control_.history().limit());
  if (!state) {
    log_line("kubernetes: the state ConfigMap " + ns_ + "/" + backend_.name() + " cannot be read (" +
             state.error().message + "); keeping the state in force");
    return;
  }
  if (!state->history) return;
  backend_.observed(state->resource_version, state->history->current().revision);
  control_.adopt(std::move(*state->history));
}

}  // namespace canaryd::proxy
