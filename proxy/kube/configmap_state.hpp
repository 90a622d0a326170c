// The routing history kept in a Kubernetes ConfigMap shared by every replica: its JSON form, and
// ConfigMapStateBackend, a StateBackend whose saves are conditional on the resourceVersion.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/value.hpp>

#include "config/result.hpp"
#include "proxy/kube/kube_client.hpp"
#include "weights/state_backend.hpp"

namespace canaryd::proxy {

/// The key of the ConfigMap's data that holds the routing history, in the state file's JSON format.
inline constexpr const char* kStateKey = "state.json";

/// What a ConfigMap holds for us.
struct ConfigMapState {
  std::string resource_version;
  std::optional<weights::RoutingHistory> history;  ///< absent when the ConfigMap has no state yet
  std::string text;                                ///< data["state.json"] as stored
};

/// Reads a ConfigMap object; an error when it is not one or its state is corrupt.
Result<ConfigMapState> parse_configmap(const boost::json::value& object, unsigned limit);

/// The ConfigMap object for a PUT or POST holding `state_text` (history_to_json); an empty
/// `resource_version` makes the PUT unconditional.
std::string configmap_json(const std::string& ns, const std::string& name, const std::string& resource_version,
                           const std::string& state_text);

/// The routing history in a ConfigMap shared by every replica. A save is a PUT conditional on the
/// resourceVersion last read, written or seen by the watch (409 from the API server: Conflict), or a
/// POST when the ConfigMap does not exist yet. Acknowledged only once the API server accepted it; a write
/// whose answer never came (a timeout, a connection broken after the request went out) is decided by
/// reading the ConfigMap back. The asynchronous calls run on the main thread's io_context, so probes,
/// watches and signals go on while the API server takes its time. Main thread only.
class ConfigMapStateBackend : public weights::StateBackend {
 public:
  ConfigMapStateBackend(boost::asio::io_context& io, std::unique_ptr<KubeClient> client, std::string ns,
                        std::string name);

  /// Start-up only: the asynchronous calls below, run to completion on a private io_context.
  weights::SaveResult save(const weights::RoutingHistory& h) override;
  weights::LoadedState load(unsigned limit) override;

  void async_save(const weights::RoutingHistory& h, SaveDone done) override;
  void async_load(unsigned limit, LoadDone done) override;

  /// What the watch saw, or a write of ours the API server accepted: the next save builds on it when it
  /// is not older than what we know.
  void observed(const std::string& resource_version, std::uint64_t revision);
  /// The watch saw the ConfigMap deleted: the next save creates it again.
  void deleted();

  const std::string& name() const { return name_; }

  /// Each call to the API server: connect, write and the whole answer.
  static constexpr std::chrono::milliseconds kTimeout{5000};

 private:
  /// Writes `h`, built on the ConfigMap at `base_version` (empty: it does not exist yet).
  boost::asio::awaitable<weights::SaveResult> write(weights::RoutingHistory h, std::string base_version);
  /// A write whose answer was lost (`lost`): the ConfigMap holds `text` now, or the write did not happen.
  boost::asio::awaitable<weights::SaveResult> reconcile(std::string text, std::uint64_t revision, unsigned limit,
                                                        KubeResponse lost);
  /// Always a value: the optional is there because co_spawn hands a default-constructed result to its
  /// handler when the coroutine throws, and a Result has no default.
  boost::asio::awaitable<std::optional<weights::LoadedState>> read(unsigned limit);
  std::string item_path() const;
  std::string what() const { return "ConfigMap " + ns_ + "/" + name_; }

  boost::asio::io_context& io_;
  std::unique_ptr<KubeClient> client_;
  std::string ns_;
  std::string name_;
  std::string resource_version_;  ///< empty: the ConfigMap does not exist (as far as we know)
  std::uint64_t known_revision_ = 0;
  int conflicts_in_a_row_ = 0;
  std::minstd_rand random_{std::random_device{}()};
};

}  // namespace canaryd::proxy
