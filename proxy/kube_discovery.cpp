#include "proxy/kube_discovery.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "proxy/log.hpp"
#include "proxy/no_throw.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
namespace http = boost::beast::http;

KubeDiscovery::KubeDiscovery(asio::io_context& io, std::unique_ptr<KubeClient> client,
                             config::KubernetesDiscovery settings, std::string label_selector, OnEndpoints on_endpoints)
    : io_(io),
      client_(std::move(client)),
      settings_(std::move(settings)),
      selector_(std::move(label_selector)),
      on_endpoints_(std::move(on_endpoints)),
      backoff_timer_(io) {}

void KubeDiscovery::start() {
  running_ = true;
  asio::co_spawn(io_, run(++generation_), asio::detached);
}

void KubeDiscovery::stop() {
  running_ = false;
  ++generation_;
  backoff_timer_.cancel();
  client_->close_streams();
}

void KubeDiscovery::reconfigure(config::KubernetesDiscovery settings, std::string label_selector) {
  const bool changed = settings.namespace_name != settings_.namespace_name || label_selector != selector_;
  const bool port_changed = settings.port_number != settings_.port_number || settings.port_name != settings_.port_name;
  settings_ = std::move(settings);
  selector_ = std::move(label_selector);
  if (port_changed) publish_if_changed();
  if (!changed || !running_) return;
  // A different namespace or selector is a different list: start over.
  synced_ = false;
  pods_ = PodSet();
  stop();
  start();
}

std::string KubeDiscovery::pods_path() const {
  std::string path = "/api/v1/namespaces/" + settings_.namespace_name + "/pods";
  if (!selector_.empty()) path += "?labelSelector=" + boost::urls::encode(selector_, boost::urls::unreserved_chars);
  return path;
}

std::string KubeDiscovery::describe() const {
  std::size_t ready = published_.size();
  std::string s = "pods of namespace " + settings_.namespace_name + (selector_.empty() ? "" : " (" + selector_ + ")") +
                  ": " + std::to_string(ready) + " ready";
  if (!synced_) return s + "; waiting for the first list from " + client_->server();
  if (!reachable_) s += "; Kubernetes API " + client_->server() + " unreachable, serving the last known pods";
  return s;
}

void KubeDiscovery::set_reachable(bool reachable, const std::string& why) {
  // One line per change, not per retry.
  if (reported_ && *reported_ == reachable) return;
  reported_ = reachable;
  reachable_ = reachable;
  if (reachable) {
    log_line("kubernetes: API " + client_->server() + " reachable");
  } else {
    log_line("kubernetes: API " + client_->server() + " unreachable (" + why +
             "); serving the last known pods, retrying");
  }
}

bool KubeDiscovery::list_ok(const KubeResponse& r) {
  if (!r.ok()) return false;
  boost::system::error_code ec;
  auto doc = boost::json::parse(r.body, ec);
  std::string error;
  if (ec || !pods_.apply_list(doc, error)) {
    log_line("kubernetes: a pod list that cannot be read: " + (ec ? ec.message() : error));
    return false;
  }
  synced_ = true;
  return true;
}

void KubeDiscovery::publish_if_changed() {
  auto endpoints = pods_.endpoints(settings_);
  if (synced_ && endpoints == published_) return;
  published_ = endpoints;
  on_endpoints_(std::move(endpoints));
}

asio::awaitable<void> KubeDiscovery::run(std::uint64_t generation) {
  auto backoff = kMinBackoff;
  bool need_list = true;
  auto wait_backoff = [&]() -> asio::awaitable<void> {
    backoff_timer_.expires_after(backoff);
    co_await backoff_timer_.async_wait(kNoThrow);
    backoff = std::min(backoff * 2, kMaxBackoff);
  };
  while (running_ && generation == generation_) {
    if (need_list) {
      KubeResponse r = co_await client_->request(http::verb::get, pods_path(), "", kRequestTimeout);
      if (generation != generation_) co_return;
      if (!list_ok(r)) {
        set_reachable(false, r.describe());
        co_await wait_backoff();
        continue;
      }
      ++relists_;
      need_list = false;
      set_reachable(true, "");
      publish_if_changed();
    }
    std::string path = pods_path();
    path += path.find('?') == std::string::npos ? '?' : '&';
    path += "watch=1&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(kWatchSeconds) +
            "&resourceVersion=" + pods_.resource_version();
    bool expired = false;
    bool bad_event = false;
    KubeResponse r = co_await client_->stream_lines(
        path,
        [&](std::string_view line) {
          if (generation != generation_) return false;
          boost::system::error_code ec;
          auto doc = boost::json::parse(line, ec);
          std::string error;
          auto result = ec ? PodSet::EventResult::Invalid : pods_.apply_event(doc, error);
          switch (result) {
            case PodSet::EventResult::Changed:
              publish_if_changed();
              return true;
            case PodSet::EventResult::Unchanged:
              return true;
            case PodSet::EventResult::Expired:
              expired = true;
              return false;
            case PodSet::EventResult::Invalid:
              log_line("kubernetes: watch event that cannot be read (" + (ec ? ec.message() : error) + "); relisting");
              bad_event = true;
              return false;
          }
          return false;
        },
        kRequestTimeout, std::chrono::seconds(kWatchSeconds + 30));
    if (generation != generation_) co_return;
    ++watch_restarts_;
    if (expired || r.status == 410) {
      log_line("kubernetes: resourceVersion " + pods_.resource_version() + " expired (410 Gone); relisting");
      need_list = true;
      continue;
    }
    if (bad_event) {
      need_list = true;
      co_await wait_backoff();
      continue;
    }
    if (r.status == 200 && !r.error) {
      // The server ended the watch (timeoutSeconds): resume from the last resourceVersion at once.
      backoff = kMinBackoff;
      set_reachable(true, "");
      continue;
    }
    if (r.status == 200) {
      // The stream broke after it had started (the API server restarting, say): resume, gently.
      co_await wait_backoff();
      continue;
    }
    set_reachable(false, r.describe());
    co_await wait_backoff();
  }
}

}  // namespace canaryd::proxy
