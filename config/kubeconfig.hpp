// How canaryd reaches the Kubernetes API for discovery: read from a kubeconfig file or from the in-cluster
// service account, as one KubeApiAccess (server, CA, bearer token).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/result.hpp"

namespace canaryd::config {

/// How to reach and authenticate to a Kubernetes API server, as a kubeconfig's current context or the
/// in-cluster service account describes it. File paths are absolute or relative to the process.
struct KubeApiAccess {
  std::string server;          ///< `https://host:port`
  std::string ca_file;         ///< PEM file of the API server's CA; empty: ca_data or the system store
  std::string ca_data_base64;  ///< certificate-authority-data, still base64
  std::string token;           ///< a static bearer token
  std::string token_file;      ///< a bearer token file, re-read when it changes (projected tokens rotate)
};

/// Reads the current context of a kubeconfig file: its cluster's server and CA, its user's token or
/// tokenFile. Relative paths in the file are taken relative to the file's directory, as kubectl does.
/// Authentication other than a bearer token (client certificates, exec plugins) is refused with a
/// message, as is insecure-skip-tls-verify.
Result<KubeApiAccess> read_kubeconfig(const std::string& path);

/// The in-cluster access: `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT` (or `server` when
/// given) with the service account's token and CA in `serviceaccount_dir`.
Result<KubeApiAccess> in_cluster_access(const std::string& server, const std::string& serviceaccount_dir);

/// Why an `http://` API server is refused without discovery.kubernetes.insecure_http.
inline constexpr std::string_view kClearTextApiServer =
    "an http:// API server gets the service account's token in clear text: use https://, or set "
    "discovery.kubernetes.insecure_http: true";

/// The access `discovery` describes: its kubeconfig's current context, or else the in-cluster service
/// account in `serviceaccount_dir` (with `discovery.api_server` when set). A server reached over plain
/// http, wherever it is named, is refused unless `discovery.insecure_http`.
Result<KubeApiAccess> kube_api_access(const KubernetesDiscovery& discovery, const std::string& serviceaccount_dir);

/// Where Kubernetes mounts the service account; CANARYD_SERVICEACCOUNT_DIR overrides it (for tests).
std::string serviceaccount_dir();

}  // namespace canaryd::config
