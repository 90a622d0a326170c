// Keeps replicas sharing a state ConfigMap in step: watches it and applies what another replica wrote.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "proxy/kube/configmap_state.hpp"
#include "proxy/kube/kube_list_watch.hpp"
#include "weights/control_service.hpp"

namespace canaryd::proxy {

/// Keeps a replica in step with the shared state: watches the state ConfigMap and hands every newer
/// history another replica wrote to the control service (which publishes it), and its
/// resourceVersion to the backend (so our next write builds on it). Events may arrive while a write of
/// ours waits on the API server: our own write's (it becomes current a little early: it is stored), or
/// another replica's (the pending write then conflicts and is computed again on it). Main thread only.
class ConfigMapStateWatch {
 public:
  ConfigMapStateWatch(boost::asio::io_context& io, std::unique_ptr<KubeClient> client, std::string ns,
                      ConfigMapStateBackend& backend, weights::ControlService& control);
  void start();
  void stop() { watch_.stop(); }

 private:
  void take(const boost::json::value& object);

  std::unique_ptr<KubeClient> client_;
  std::string ns_;
  ConfigMapStateBackend& backend_;
  weights::ControlService& control_;
  std::string resource_version_;
  KubeListWatch watch_;
};

}  // namespace canaryd::proxy
