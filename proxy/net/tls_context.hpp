// canaryd's TLS contexts: every certificate, key and CA the config names, loaded in one go, and the
// verifying client context for an upstream or the Kubernetes API server.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "config/config.hpp"
#include "config/result.hpp"

namespace canaryd::proxy {

using TlsContextPtr = std::shared_ptr<boost::asio::ssl::context>;

/// How to speak TLS to one upstream endpoint. Immutable once built; shared by every worker.
struct UpstreamTls {
  TlsContextPtr context;    ///< TLS 1.2+, verifies the peer against the configured CA
  std::string server_name;  ///< sent as SNI; empty when the endpoint is addressed by an IP literal
  std::string verify_name;  ///< the DNS name or IP literal the certificate must carry
  bool verify_ip = false;   ///< verify_name is an IP literal
};

/// Every TLS context one config needs, loaded from its files. Index i belongs to listen[i] and to
/// endpoints[i]; null means plain.
struct TlsSetup {
  std::vector<TlsContextPtr> listeners;
  std::vector<std::shared_ptr<const UpstreamTls>> endpoints;
};

/// Loads every certificate, key and CA bundle the config names; nullopt when one fails, with each
/// problem in `errors` as `FILE: listen[0].tls.cert: message`. Runs at start, for `-t` and on SIGHUP,
/// so a certificate that would not load never replaces one that works.
std::optional<TlsSetup> load_tls(const config::Config& cfg, std::vector<std::string>& errors);

/// A verifying TLS client context for `host` (a DNS name, sent as SNI, or an IP literal): trusts the
/// PEM file `ca_file`, else the PEM text `ca_pem`, else the system store. Fails when the CA cannot be
/// loaded. Used for upstreams and for the Kubernetes API server.
Result<std::shared_ptr<UpstreamTls>> make_client_tls(const std::string& ca_file, const std::string& ca_pem,
                                                     const std::string& host);

/// Applies SNI and the name check of `tls` to a new upstream connection before its handshake.
/// Fails with OpenSSL's reason when OpenSSL refuses them. Runs per upstream connection: success
/// allocates nothing (an empty Result<void>), only a failure builds its message.
Result<void> prepare_upstream_tls(SSL* ssl, const UpstreamTls& tls);

}  // namespace canaryd::proxy
