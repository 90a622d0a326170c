// What canaryd reads of Kubernetes pods and the pod set a list-watch maintains, pure: from API objects to
// endpoints with their labels and addresses.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "config/config.hpp"
#include "config/result.hpp"

namespace canaryd::proxy {

/// What canaryd reads of a Kubernetes Pod.
struct Pod {
  std::string name;
  std::string ip;  ///< status.podIP; empty while the pod has none (Pending)
  config::Labels labels;
  bool ready = false;        ///< the Ready condition is "True"
  bool terminating = false;  ///< metadata.deletionTimestamp is set
  std::map<std::string, std::uint16_t> named_ports;  ///< spec.containers[].ports[] that have a name

  /// The address traffic goes to, or nullopt when the pod must get none: no IP, not Ready,
  /// terminating (the seed's Pending, ContainerCreating and Terminating pods), or no such named port.
  std::optional<config::HostPort> address(const config::KubernetesDiscovery& d) const;
};

/// Reads a Pod object of the API (v1). Fails when it is not one.
Result<Pod> parse_pod(const boost::json::value& object);

/// The pods of a list+watch, keyed by name, and the resourceVersion the watch resumes from. Pure:
/// the discovery loop feeds it what the API server sends.
class PodSet {
 public:
  /// A list answer (`PodList`): replaces everything. Fails when it is not one.
  Result<void> apply_list(const boost::json::value& list);

  enum class EventResult { Changed, Unchanged, Expired };
  /// One watch event `{type, object}`: ADDED, MODIFIED, DELETED change the set; BOOKMARK only moves
  /// the resourceVersion; an ERROR with code 410 says the version is too old (relist). Changed means
  /// the endpoints may differ. Fails when the event cannot be read or is an error other than 410.
  Result<EventResult> apply_event(const boost::json::value& event);

  const std::string& resource_version() const { return resource_version_; }
  const std::map<std::string, Pod>& pods() const { return pods_; }

  /// The endpoints: every pod that has an address, with its own labels and its name, ordered by name.
  std::vector<config::Endpoint> endpoints(const config::KubernetesDiscovery& d) const;

 private:
  std::map<std::string, Pod> pods_;
  std::string resource_version_;
};

}  // namespace canaryd::proxy
