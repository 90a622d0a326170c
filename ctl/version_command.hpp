// `canaryctl version`: the client's version and the server's, read from /api/status when it carries a
// "version", else from the canaryd_build_info metric (/metrics needs no token).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "ctl/options.hpp"
#include "ctl/settings.hpp"
#include "ctl/transport.hpp"

namespace canaryd::ctl {

/// canaryctl's own version (the project version it was built from).
std::string_view client_version();

/// The "version" string member of a status document, if it has one.
std::optional<std::string> version_from_status(std::string_view json);

/// The version label of `canaryd_build_info{version="X"} 1` in a Prometheus text exposition.
std::optional<std::string> version_from_metrics(std::string_view text);

/// Prints "canaryctl X" and "canaryd Y (URL)" (or {"client", "server"} under -o json). An unreachable
/// server: the client line, the reason on `err`, exit 3; a server that names no version: exit 1.
int run_version(const Invocation& invocation, const Connection& connection, Transport& transport,
                std::ostream& out, std::ostream& err);

}  // namespace canaryd::ctl
