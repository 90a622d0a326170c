// What `canaryd -t` checks beyond the YAML, as `nginx -t` does: that the files the config names can be
// used (contract section 10). TLS files are loaded by the proxy layer, which owns OpenSSL.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace canaryd::config {

/// Opens every file the config names outside TLS: control.token_file (present, not empty, not
/// readable or writable by others), discovery.kubernetes.kubeconfig, and the state file's directory,
/// which must let canaryd create a file there (one is created and removed), and access_log.path (an
/// existing file opens for appending, or its directory lets canaryd create it). Each problem as
/// `FILE: field.path: message`; empty when all is well.
std::vector<std::string> check_named_files(const Config& config);

}  // namespace canaryd::config
