// Resolves the server URL and token from flags and environment (see settings.hpp).
#include "ctl/settings.hpp"

#include "config/token_file.hpp"

namespace canaryd::ctl {
namespace {

bool set(const std::optional<std::string>& v) { return v && !v->empty(); }

}  // namespace

Result<Connection, UsageError> resolve_connection(const Invocation& inv, const Environment& env) {
  std::string url(kDefaultServerUrl);
  std::string origin;  // named in the message, so a stale CANARYD_URL is easy to spot
  if (inv.server) {
    url = *inv.server;
    origin = "-s";
  } else if (set(env.server_url)) {
    url = *env.server_url;
    origin = "CANARYD_URL";
  }

  Connection c;
  auto server = parse_server_url(url);
  if (!server) {
    const std::string& error = server.error().message;
    return fail(UsageError{origin.empty() ? error : origin + ": " + error});
  }
  c.server = std::move(*server);

  if (inv.token_file) {
    auto token = config::read_token_file(*inv.token_file, config::TokenFileAccess::AnyMode);
    if (!token) return fail(UsageError{"cannot read token file " + *inv.token_file + ": " + token.error().message});
    c.token = std::move(*token);
  } else if (set(env.token)) {
    c.token = config::trim_token(*env.token);
  }
  return c;
}

}  // namespace canaryd::ctl
