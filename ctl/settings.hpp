// canaryctl's connection settings: the server and token from flags, environment variables and the token
// file, a flag winning over the environment.
#pragma once

#include <optional>
#include <string>

#include "config/result.hpp"
#include "ctl/options.hpp"
#include "ctl/server_url.hpp"

namespace canaryd::ctl {

/// The environment variables canaryctl reads; empty values count as unset.
struct Environment {
  std::optional<std::string> server_url;  ///< CANARYD_URL
  std::optional<std::string> token;       ///< CANARYD_TOKEN (the token itself)
};

/// Where to send the call and with which token.
struct Connection {
  ServerUrl server;
  std::string token;  ///< empty: no Authorization header
};

/// Combines the flags with the environment (a flag wins) and reads the token file. Errors here are
/// the operator's to fix (a bad URL, an unreadable token file): canaryctl exits 2.
Result<Connection, UsageError> resolve_connection(const Invocation& invocation, const Environment& env);

}  // namespace canaryd::ctl
