// Checks the files the config names for `canaryd -t` (see named_files.hpp): the token file, the kubeconfig,
// a real create-and-remove in the state file's directory, and the access log.
#include "config/named_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "config/kubeconfig.hpp"
#include "config/token_file.hpp"

namespace canaryd::config {
namespace {

// Creates and removes a file where the state's temporary file will be made: the one test that says
// what canaryd will meet (access(2) misjudges read-only mounts and ACLs).
Result<void> check_writable_directory(const std::string& state_file) {
  std::filesystem::path dir = std::filesystem::path(state_file).parent_path();
  if (dir.empty()) dir = ".";
  std::string probe = (dir / ".canaryd-t-XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  if (fd < 0) return fail("cannot create a file in " + dir.string() + ": " + std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
  return {};
}

// The access log: an existing file must open for appending; a new one must be creatable in its
// directory (checked with a probe, so that -t leaves no empty log behind).
Result<void> check_appendable(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return {};
  }
  if (errno != ENOENT) return fail("cannot open " + path + ": " + std::strerror(errno));
  return check_writable_directory(path);
}

}  // namespace

std::vector<std::string> check_named_files(const Config& config) {
  std::vector<std::string> errors;
  const std::string& src = config.source;
  if (!config.control.token_file.empty()) {
    if (auto token = read_token_file(config.control.token_file, TokenFileAccess::Private); !token)
      errors.push_back(src + ": control.token_file: " + config.control.token_file + ": " + token.error().message);
  }
  if (config.discovery && !config.discovery->kubeconfig.empty()) {
    // The server's scheme too: an http server without insecure_http would fail at start.
    if (auto access = kube_api_access(*config.discovery, {}); !access)
      errors.push_back(src + ": discovery.kubernetes.kubeconfig: " + access.error().message);
  }
  if (config.state_configmap.empty()) {
    if (auto writable = check_writable_directory(config.state_file); !writable)
      errors.push_back(src + ": state_file: " + writable.error().message);
  }
  if (!config.access_log.path.empty()) {
    if (auto appendable = check_appendable(config.access_log.path); !appendable)
      errors.push_back(src + ": access_log.path: " + appendable.error().message);
  }
  return errors;
}

}  // namespace canaryd::config
