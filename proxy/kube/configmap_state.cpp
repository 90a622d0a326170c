// The ConfigMap state backend (see configmap_state.hpp): the ConfigMap's JSON both ways, conditional PUTs
// and the first POST, and deciding a write whose answer never came by reading the ConfigMap back.
#include "proxy/kube/configmap_state.hpp"

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include "proxy/net/no_throw.hpp"
#include "weights/state_store.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
namespace json = boost::json;
namespace http = boost::beast::http;
using weights::LoadedState;
using weights::SaveError;
using weights::SaveResult;

namespace {

/// An answer's body as a ConfigMap; an error when it is none or its state is corrupt.
Result<ConfigMapState> parse_configmap_body(const std::string& body, unsigned limit) {
  boost::system::error_code ec;
  auto doc = json::parse(body, ec);
  if (ec) return fail(ec.message());
  return parse_configmap(doc, limit);
}

Failure<SaveError> not_saved(std::string message) {
  return fail(SaveError{SaveError::Kind::Failed, std::move(message)});
}

}  // namespace

Result<ConfigMapState> parse_configmap(const json::value& value, unsigned limit) {
  const json::object* o = value.if_object();
  const json::value* meta = o ? o->if_contains("metadata") : nullptr;
  if (!meta || !meta->is_object()) return fail("not a ConfigMap");
  ConfigMapState out;
  if (const auto* rv = meta->get_object().if_contains("resourceVersion"); rv && rv->is_string())
    out.resource_version = rv->get_string().c_str();
  const json::value* data = o->if_contains("data");
  const json::value* text = data && data->is_object() ? data->get_object().if_contains(kStateKey) : nullptr;
  if (!text) return out;
  if (!text->is_string()) return fail(std::string("data.") + kStateKey + " is not a string");
  out.text = text->get_string();
  auto history = weights::history_from_json(out.text, limit);
  if (!history) return fail(std::string("data.") + kStateKey + ": " + history.error().message);
  out.history = std::move(history).value();
  return out;
}

std::string configmap_json(const std::string& ns, const std::string& name, const std::string& resource_version,
                           const std::string& state_text) {
  json::object meta;
  meta["name"] = name;
  meta["namespace"] = ns;
  if (!resource_version.empty()) meta["resourceVersion"] = resource_version;
  json::object labels;
  labels["app.kubernetes.io/managed-by"] = "canaryd";
  meta["labels"] = std::move(labels);
  json::object data;
  data[kStateKey] = state_text;
  json::object cm;
  cm["apiVersion"] = "v1";
  cm["kind"] = "ConfigMap";
  cm["metadata"] = std::move(meta);
  cm["data"] = std::move(data);
  return json::serialize(cm);
}

ConfigMapStateBackend::ConfigMapStateBackend(asio::io_context& io, std::unique_ptr<KubeClient> client,
                                             std::string ns, std::string name)
    : io_(io), client_(std::move(client)), ns_(std::move(ns)), name_(std::move(name)) {}

std::string ConfigMapStateBackend::item_path() const {
  return "/api/v1/namespaces/" + ns_ + "/configmaps/" + name_;
}

SaveResult ConfigMapStateBackend::save(const weights::RoutingHistory& h) {
  return run_blocking(write(h, resource_version_));
}

LoadedState ConfigMapStateBackend::load(unsigned limit) { return *run_blocking(read(limit)); }

void ConfigMapStateBackend::async_save(const weights::RoutingHistory& h, SaveDone done) {
  // The version is taken now, with the history it goes with: the coroutine's body runs later, after a watch
  // event may have moved resource_version_ on to a write this history does not contain.
  asio::co_spawn(io_, write(h, resource_version_), [done = std::move(done)](std::exception_ptr e, SaveResult saved) {
    if (e) saved = not_saved("the write to the API server failed unexpectedly");
    done(std::move(saved));
  });
}

void ConfigMapStateBackend::async_load(unsigned limit, LoadDone done) {
  asio::co_spawn(io_, read(limit), [done = std::move(done)](std::exception_ptr e, std::optional<LoadedState> loaded) {
    if (e || !loaded) return done(fail("the read from the API server failed unexpectedly"));
    done(std::move(*loaded));
  });
}

asio::awaitable<std::optional<LoadedState>> ConfigMapStateBackend::read(unsigned limit) {
  KubeResponse r = co_await client_->request(http::verb::get, item_path(), "", kTimeout);
  if (r.status == 404) {
    resource_version_.clear();
    co_return LoadedState(std::optional<weights::RoutingHistory>());
  }
  if (!r.ok()) co_return LoadedState(fail(what() + " cannot be read from " + client_->server() + ": " + r.describe()));
  auto state = parse_configmap_body(r.body, limit);
  if (!state) co_return LoadedState(fail(what() + ": " + state.error().message));
  if (!state->history) {
    // It exists (an operator may create it empty, so that the Role needs no `create`), without state yet.
    resource_version_ = state->resource_version;
    co_return LoadedState(std::optional<weights::RoutingHistory>());
  }
  // Not older than what the watch may have delivered while this read was on its way.
  observed(state->resource_version, state->history->current().revision);
  co_return LoadedState(std::move(state->history));
}

// GCC 12 at -O2 inlines Asio's coroutine-frame operator new (aligned_alloc) into this coroutine and then
// pairs the frame's own operator delete with it as a mismatch that is not there (the same false positive
// CMakeLists.txt silences for the sanitizer builds).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
asio::awaitable<SaveResult> ConfigMapStateBackend::write(weights::RoutingHistory h, std::string base_version) {
  std::string text = weights::history_to_json(h);
  const bool create = base_version.empty();
  // Never unconditional: without a known version the ConfigMap is created, and that fails if it exists.
  KubeResponse r;
  if (create) {
    r = co_await client_->request(http::verb::post, "/api/v1/namespaces/" + ns_ + "/configmaps",
                                  configmap_json(ns_, name_, "", text), kTimeout);
  } else {
    r = co_await client_->request(http::verb::put, item_path(), configmap_json(ns_, name_, base_version, text),
                                  kTimeout);
  }
  if (r.error && r.sent) {
    co_return co_await reconcile(std::move(text), h.current().revision, h.limit(), std::move(r));
  }
  if (r.status == 409 || (r.status == 404 && !create)) {
    // 409: a stale version or AlreadyExists; 404: deleted meanwhile, so the next attempt creates it.
    if (r.status == 404) resource_version_.clear();
    // Two replicas that keep conflicting would otherwise retry in lockstep, and one that writes back to
    // back would starve the other: wait a random few milliseconds, longer with each conflict in a row
    // (as client-go's RetryOnConflict does). A timer: the thread serves everything else meanwhile.
    ++conflicts_in_a_row_;
    std::uniform_int_distribution<int> jitter(1, 5);
    asio::steady_timer backoff(co_await asio::this_coro::executor);
    backoff.expires_after(std::chrono::milliseconds(jitter(random_) * std::min(conflicts_in_a_row_, 8)));
    co_await backoff.async_wait(kNoThrow);
    co_return SaveResult(fail(SaveError{SaveError::Kind::Conflict, {}}));
  }
  conflicts_in_a_row_ = 0;
  if (!r.ok()) co_return SaveResult(not_saved(what() + " not written: " + r.describe()));
  auto state = parse_configmap_body(r.body, h.limit());
  // Accepted: the API server has it. Without a readable answer the next save conflicts and re-reads.
  observed(state ? state->resource_version : std::string("unknown"), h.current().revision);
  co_return SaveResult();
}
#pragma GCC diagnostic pop

asio::awaitable<SaveResult> ConfigMapStateBackend::reconcile(std::string text, std::uint64_t revision, unsigned limit,
                                                            KubeResponse lost) {
  // The request went out and its answer did not come back: the API server may have applied it. What the
  // ConfigMap holds now decides; "not written" is said only when it is known.
  KubeResponse r = co_await client_->request(http::verb::get, item_path(), "", kTimeout);
  auto state = r.ok() ? parse_configmap_body(r.body, limit) : Result<ConfigMapState>(fail(r.describe()));
  if (state && state->text == text) {
    observed(state->resource_version, revision);
    co_return SaveResult();
  }
  if (state || r.status == 404) {
    if (r.status == 404) resource_version_.clear();
    co_return SaveResult(not_saved(what() + " not written: the API server did not answer (" + lost.describe() +
                                   "), and the ConfigMap read back since does not hold the change"));
  }
  co_return SaveResult(not_saved(what() + ": the API server did not answer the write (" + lost.describe() +
                                 ") and reading it back failed too (" + state.error().message +
                                 "): whether the change was stored is unknown; if it was, the watch applies it"));
}

void ConfigMapStateBackend::observed(const std::string& resource_version, std::uint64_t revision) {
  if (revision < known_revision_) return;
  known_revision_ = revision;
  resource_version_ = resource_version;
}

void ConfigMapStateBackend::deleted() { resource_version_.clear(); }

}  // namespace canaryd::proxy
