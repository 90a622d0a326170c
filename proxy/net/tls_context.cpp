// Builds the OpenSSL contexts (see tls_context.hpp): listener certificates with TLS 1.2+ and ALPN
// http/1.1, verifying client contexts for upstreams and the API server, with readable load errors.
#include "proxy/net/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <boost/asio/ip/address.hpp>

namespace canaryd::proxy {
namespace ssl = boost::asio::ssl;

namespace {

// Mozilla's "intermediate" TLS 1.2 list (forward secrecy, AEAD only). TLS 1.3 keeps OpenSSL's
// default suites, which are all modern.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// What a listener speaks, by preference (SSL_select_next_proto walks this list first).
constexpr unsigned char kAlpnOurs[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

std::string openssl_reason() {
  unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  const char* reason = ERR_reason_error_string(code);
  return reason ? std::string(reason) : std::string(text);
}

// A clearer message than OpenSSL's for the common case of a missing or unreadable file.
Result<void> readable(const std::string& path) {
  std::ifstream in(path);
  if (in) return {};
  return fail(path + ": cannot read: " + std::strerror(errno));
}

// An encrypted key must not make the daemon prompt on a terminal it does not have.
int no_passphrase(char*, int, int, void*) { return 0; }

// Selects h2 when the client offers it, else http/1.1 (our preference decides, not the client's
// order). A client that offers only other protocols gets no ALPN answer rather than a failed
// handshake, as nginx does; it then speaks HTTP/1.1 or leaves.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kAlpnOurs, sizeof kAlpnOurs, in, inlen) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

void restrict_protocols(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_cipher_list(ctx, kTls12Ciphers);
}

TlsContextPtr listener_context(const config::ListenerTls& tls, const std::string& field, std::vector<std::string>& errors) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  restrict_protocols(native);
  SSL_CTX_set_alpn_select_cb(native, select_alpn, nullptr);
  SSL_CTX_set_default_passwd_cb(native, no_passphrase);
  ERR_clear_error();
  if (auto cert = readable(tls.cert); !cert) {
    errors.push_back(field + ".cert: " + cert.error().message);
    return nullptr;
  }
  if (SSL_CTX_use_certificate_chain_file(native, tls.cert.c_str()) != 1) {
    errors.push_back(field + ".cert: " + tls.cert + ": no usable PEM certificate: " + openssl_reason());
    return nullptr;
  }
  if (auto key = readable(tls.key); !key) {
    errors.push_back(field + ".key: " + key.error().message);
    return nullptr;
  }
  const bool key_loaded = SSL_CTX_use_PrivateKey_file(native, tls.key.c_str(), SSL_FILETYPE_PEM) == 1;
  if (!key_loaded && ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
    errors.push_back(field + ".key: " + tls.key + ": no usable unencrypted PEM private key: " + openssl_reason());
    return nullptr;
  }
  if (!key_loaded || SSL_CTX_check_private_key(native) != 1) {
    errors.push_back(field + ".key: " + tls.key + ": does not match the certificate in " + tls.cert);
    ERR_clear_error();
    return nullptr;
  }
  return ctx;
}

std::shared_ptr<const UpstreamTls> upstream_context(const config::Endpoint& ep, const std::string& field,
                                                    std::vector<std::string>& errors) {
  const config::EndpointTls& tls = *ep.tls;
  auto up = make_client_tls(tls.ca, "", tls.server_name.empty() ? ep.address.host : tls.server_name);
  if (!up) {
    errors.push_back(field + ".ca: " + up.error().message);
    return nullptr;
  }
  return std::move(*up);
}

}  // namespace

std::optional<TlsSetup> load_tls(const config::Config& cfg, std::vector<std::string>& errors) {
  TlsSetup setup;
  std::vector<std::string> problems;
  for (std::size_t i = 0; i < cfg.listen.size(); ++i) {
    const auto& l = cfg.listen[i];
    setup.listeners.push_back(l.tls ? listener_context(*l.tls, "listen[" + std::to_string(i) + "].tls", problems) : nullptr);
  }
  for (std::size_t i = 0; i < cfg.endpoints.size(); ++i) {
    const auto& ep = cfg.endpoints[i];
    setup.endpoints.push_back(ep.tls ? upstream_context(ep, "endpoints[" + std::to_string(i) + "].tls", problems) : nullptr);
  }
  for (auto& p : problems) errors.push_back(cfg.source + ": " + p);
  if (!problems.empty()) return std::nullopt;
  return setup;
}

Result<std::shared_ptr<UpstreamTls>> make_client_tls(const std::string& ca_file, const std::string& ca_pem,
                                                     const std::string& host) {
  auto up = std::make_shared<UpstreamTls>();
  up->context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = up->context->native_handle();
  restrict_protocols(native);
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  ERR_clear_error();
  if (!ca_file.empty()) {
    if (auto file = readable(ca_file); !file) return fail(std::move(file).error());
    if (SSL_CTX_load_verify_locations(native, ca_file.c_str(), nullptr) != 1)
      return fail(ca_file + ": no usable PEM CA certificate: " + openssl_reason());
  } else if (!ca_pem.empty()) {
    boost::system::error_code ec;
    up->context->add_certificate_authority(boost::asio::buffer(ca_pem), ec);
    if (ec) return fail("the CA data is no usable PEM certificate: " + openssl_reason());
  } else {
    SSL_CTX_set_default_verify_paths(native);
  }
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  up->verify_name = host;
  up->verify_ip = !ec;
  // RFC 6066 3: SNI carries host names only, never an IP literal.
  if (!up->verify_ip) up->server_name = host;
  return up;
}

Result<void> prepare_upstream_tls(SSL* ssl, const UpstreamTls& tls) {
  ERR_clear_error();
  if (!tls.server_name.empty() && SSL_set_tlsext_host_name(ssl, tls.server_name.c_str()) != 1)
    return fail("SNI: " + openssl_reason());
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  const int ok = tls.verify_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, tls.verify_name.c_str())
                               : X509_VERIFY_PARAM_set1_host(param, tls.verify_name.c_str(), 0);
  if (ok != 1) return fail("certificate name check: " + openssl_reason());
  return {};
}

}  // namespace canaryd::proxy
