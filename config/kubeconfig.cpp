// Finds the Kubernetes API server and credentials (see kubeconfig.hpp): kubeconfig current context or the
// in-cluster service account, with the plain-http refusal.
#include "config/kubeconfig.hpp"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>

namespace canaryd::config {
namespace {

// The entry named `name` of a kubeconfig list (`clusters`, `users`, `contexts`): its `key` map.
YAML::Node named(const YAML::Node& root, const char* list, const std::string& name, const char* key) {
  const YAML::Node items = root[list];
  if (!items || !items.IsSequence()) return YAML::Node();
  for (const auto& item : items)
    if (item.IsMap() && item["name"] && item["name"].IsScalar() && item["name"].Scalar() == name) return item[key];
  return YAML::Node();
}

std::string scalar(const YAML::Node& map, const char* key) {
  if (!map || !map.IsMap()) return {};
  const YAML::Node v = map[key];
  return v && v.IsScalar() ? v.Scalar() : std::string();
}

std::string relative_to(const std::string& file, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(file).parent_path() / path).string();
}

}  // namespace

Result<KubeApiAccess> read_kubeconfig(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return fail(path + ": " + e.what());
  }
  if (!root.IsMap()) return fail(path + ": not a kubeconfig (no map at the top)");
  const std::string context_name = scalar(root, "current-context");
  if (context_name.empty()) return fail(path + ": no current-context");
  const YAML::Node context = named(root, "contexts", context_name, "context");
  if (!context || !context.IsMap()) return fail(path + ": context \"" + context_name + "\" not found");
  const std::string cluster_name = scalar(context, "cluster");
  const YAML::Node cluster = named(root, "clusters", cluster_name, "cluster");
  if (!cluster || !cluster.IsMap()) {
    return fail(path + ": cluster \"" + cluster_name + "\" of context \"" + context_name + "\" not found");
  }
  KubeApiAccess access;
  access.server = scalar(cluster, "server");
  if (access.server.empty()) return fail(path + ": cluster \"" + cluster_name + "\" has no server");
  if (scalar(cluster, "insecure-skip-tls-verify") == "true") {
    return fail(path + ": cluster \"" + cluster_name + "\": insecure-skip-tls-verify is not supported; give its CA");
  }
  access.ca_file = relative_to(path, scalar(cluster, "certificate-authority"));
  access.ca_data_base64 = scalar(cluster, "certificate-authority-data");

  const std::string user_name = scalar(context, "user");
  const YAML::Node user = named(root, "users", user_name, "user");
  if (user && user.IsMap()) {
    access.token = scalar(user, "token");
    access.token_file = relative_to(path, scalar(user, "tokenFile"));
    if (access.token.empty() && access.token_file.empty() &&
        (user["client-certificate"] || user["client-certificate-data"] || user["exec"] || user["auth-provider"])) {
      return fail(path + ": user \"" + user_name + "\": only bearer tokens (token, tokenFile) are supported");
    }
  }
  return access;
}

Result<KubeApiAccess> in_cluster_access(const std::string& server, const std::string& dir) {
  KubeApiAccess access;
  access.server = server;
  if (access.server.empty()) {
    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port) {
      return fail("not in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set); set "
              "discovery.kubernetes.api_server or kubeconfig");
    }
    std::string h = host;
    if (h.find(':') != std::string::npos) h = "[" + h + "]";  // an IPv6 service address
    access.server = "https://" + h + ":" + port;
  }
  std::error_code ec;
  const std::filesystem::path base(dir);
  if (std::filesystem::exists(base / "token", ec)) access.token_file = (base / "token").string();
  if (std::filesystem::exists(base / "ca.crt", ec)) access.ca_file = (base / "ca.crt").string();
  return access;
}

Result<KubeApiAccess> kube_api_access(const KubernetesDiscovery& discovery, const std::string& serviceaccount_dir) {
  auto access = discovery.kubeconfig.empty() ? in_cluster_access(discovery.api_server, serviceaccount_dir)
                                             : read_kubeconfig(discovery.kubeconfig);
  if (!access) return access;
  std::string scheme = access->server.substr(0, access->server.find(':'));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme == "http" && !discovery.insecure_http) {
    return fail((discovery.kubeconfig.empty() ? "" : discovery.kubeconfig + ": server " + access->server + ": ") +
            std::string(kClearTextApiServer));
  }
  return access;
}

std::string serviceaccount_dir() {
  const char* dir = std::getenv("CANARYD_SERVICEACCOUNT_DIR");
  return dir && *dir ? dir : "/var/run/secrets/kubernetes.io/serviceaccount";
}

}  // namespace canaryd::config
