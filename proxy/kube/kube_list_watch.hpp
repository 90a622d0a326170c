// KubeListWatch: the list-then-watch loop of a Kubernetes informer, shared by pod discovery and the state
// ConfigMap's watch.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/value.hpp>

#include "config/result.hpp"
#include "proxy/kube/kube_client.hpp"

namespace canaryd::proxy {

/// The list-then-watch loop of a Kubernetes informer: GET the collection, then watch it from the list's
/// resourceVersion with bookmarks. A watch that ends resumes from the last resourceVersion; 410 Gone,
/// or an event that cannot be read, relists; an unreachable API server is retried with capped
/// exponential backoff (one log line per change, not per retry). Main thread only.
class KubeListWatch {
 public:
  enum class EventResult { Applied, Expired };
  struct Handlers {
    /// A list answer: take it whole (null: a 404 where `get_one` allows it). Fails when it cannot be
    /// read.
    std::function<Result<void>(const boost::json::value& list)> on_list;
    /// One watch event. Fails when it cannot be read (the watch then relists).
    std::function<Result<EventResult>(const boost::json::value& event)> on_event;
    /// The resourceVersion to watch from (the list's, then each event's).
    std::function<std::string()> resource_version;
  };

  /// `what` names the collection in logs ("pods of web").
  KubeListWatch(boost::asio::io_context& io, KubeClient& client, std::string what, Handlers handlers);

  /// `path` is the collection's URL path with its query (labelSelector, fieldSelector), without watch
  /// parameters. With `get_one`, the list step GETs that one object instead (so RBAC limited to one
  /// object by resourceNames needs no `list`), and a 404 is an empty list.
  void start(std::string path, std::string get_one = {});
  void stop();

  bool synced() const { return synced_; }
  bool reachable() const { return reachable_; }
  std::uint64_t lists() const { return lists_; }

  static constexpr std::chrono::milliseconds kMinBackoff{250};
  static constexpr std::chrono::milliseconds kMaxBackoff{10'000};
  static constexpr std::chrono::milliseconds kRequestTimeout{10'000};
  /// Asked of the server per watch (it then ends the stream); the idle limit is a little above it.
  static constexpr int kWatchSeconds = 240;

 private:
  /// How one watch stream ended.
  struct WatchEnd {
    KubeResponse response;
    bool expired = false;  ///< an event said the version expired (410 Gone)
    bool invalid = false;  ///< an event could not be read: relist
  };

  boost::asio::awaitable<void> run(std::uint64_t generation, std::string path, std::string get_one);
  /// Hands a list answer to on_list; the error otherwise (a 404 counts as an empty list for `get_one`).
  Result<void> take_list(const KubeResponse& r, bool one_object);
  /// One watch from the last resourceVersion, until the stream ends; `backoff` starts over once it is open.
  boost::asio::awaitable<WatchEnd> watch(std::uint64_t generation, const std::string& path,
                                         std::chrono::milliseconds& backoff);
  bool live(std::uint64_t generation) const { return running_ && generation == generation_; }
  void set_reachable(bool reachable, const std::string& why);

  boost::asio::io_context& io_;
  KubeClient& client_;
  std::string what_;
  Handlers handlers_;
  boost::asio::steady_timer backoff_timer_;
  std::uint64_t generation_ = 0;  ///< a newer run() ends the older one
  bool running_ = false;
  bool synced_ = false;
  bool reachable_ = false;
  std::optional<bool> reported_;
  std::uint64_t lists_ = 0;
};

}  // namespace canaryd::proxy
