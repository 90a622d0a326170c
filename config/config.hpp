// The configuration model: config::Config and its sections as plain values (listeners, control, endpoints,
// service, routing, timeouts, limits, health checks, Kubernetes discovery), and the functions that load
// canaryd.yaml into it (config_file.cpp, config_loader.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/address.hpp"
#include "config/cidr.hpp"
#include "config/labels.hpp"
#include "config/result.hpp"
#include "config/rollout_plan.hpp"
#include "config/selector.hpp"
#include "config/weight.hpp"

namespace canaryd::config {

/// TLS termination on a listener (contract section 6): PEM files, loaded by the proxy layer so that
/// this layer stays free of OpenSSL. `cert` may hold a chain, leaf first.
struct ListenerTls {
  std::string cert;
  std::string key;
  bool operator==(const ListenerTls&) const = default;
};

struct Listener {
  HostPort address;
  std::optional<ListenerTls> tls;  ///< absent: plain HTTP
  /// A plain listener also accepts HTTP/2 with prior knowledge (a TLS listener offers h2 by ALPN always).
  bool http2 = false;
  bool operator==(const Listener&) const = default;
};

struct Control {
  HostPort address{"127.0.0.1", 9901};
  std::string token_file;  ///< empty: no authentication
  /// Serve the API without a token on a non-loopback address (otherwise a start-up error).
  bool allow_unauthenticated = false;
  bool operator==(const Control&) const = default;
};

/// TLS to an upstream endpoint (contract section 6). The certificate is always verified.
struct EndpointTls {
  std::string ca;           ///< PEM bundle of trusted CAs; empty: the system trust store
  std::string server_name;  ///< SNI and the name the certificate must carry; empty: the address's host
  bool operator==(const EndpointTls&) const = default;
};

struct Endpoint {
  HostPort address;
  Labels labels;
  std::optional<EndpointTls> tls;  ///< absent: plain HTTP
  std::string pod;                 ///< the pod's name when found by discovery; empty when configured
  bool operator==(const Endpoint&) const = default;
};

struct Service {
  Selector selector;               ///< every endpoint the service may use
  Selector stable;                 ///< stable set = selector AND stable
  std::optional<Selector> canary;  ///< canary set = selector AND canary
  BasisPoints canary_weight = 0;   ///< initial weight, used only without a state file
  bool operator==(const Service&) const = default;
};

/// Sticky users (routing.affinity, contract section 8): what identifies a user, whose bucket then places
/// it (weights/affinity.hpp).
struct Affinity {
  enum class Key : std::uint8_t { None, Cookie, Header, ClientIp };
  Key key = Key::None;
  std::string name;        ///< the cookie's or the header's name (Cookie, Header); empty otherwise
  /// "" or the affinity cookie's name (then key is Cookie with this name): clients without the cookie
  /// get one with a random value, so their next requests stick.
  std::string set_cookie;
  bool operator==(const Affinity&) const = default;
};

struct Routing {
  std::string override_header = "X-Canary";   ///< "" disables
  std::string override_cookie;                ///< a cookie whose value always|never forces the set; "" disables
  /// Whose overrides (header and cookie) are honoured, matched against the TCP peer only; empty: every
  /// client's.
  std::vector<Cidr> override_sources;
  Affinity affinity;
  std::string response_header = "X-Canary-Set";  ///< "" disables
  unsigned retries = 2;
  bool operator==(const Routing&) const = default;
};

struct Timeouts {
  std::chrono::milliseconds connect{2000};
  std::chrono::milliseconds upstream{30000};
  std::chrono::milliseconds client_header{10000};
  std::chrono::milliseconds keepalive_idle{60000};
  std::chrono::milliseconds drain{30000};
  /// A WebSocket tunnel in which neither direction moved a byte for this long is closed.
  std::chrono::milliseconds tunnel_idle{3600000};
  bool operator==(const Timeouts&) const = default;
};

struct Limits {
  std::uint64_t max_header_bytes = 16384;
  std::uint64_t max_body_bytes = 0;  ///< 0 = no limit
  /// Client connections at once; 0 = no limit; absent: what the file descriptors allow (the server
  /// works it out: proxy/control/connection_budget.hpp).
  std::optional<std::uint64_t> max_connections;
  /// HTTP/2 streams open at once on one client connection (SETTINGS_MAX_CONCURRENT_STREAMS).
  std::uint64_t h2_max_concurrent_streams = 128;
  bool operator==(const Limits&) const = default;
};

/// Active health checks (contract section 6): every endpoint is probed with `GET path`; a 2xx or 3xx
/// answer within `timeout` is a success. An endpoint turns unhealthy after `unhealthy_threshold`
/// failures in a row and healthy again after `healthy_threshold` successes in a row.
struct HealthCheck {
  std::string path = "/";
  std::chrono::milliseconds interval{2000};
  std::chrono::milliseconds timeout{1000};
  unsigned healthy_threshold = 2;
  unsigned unhealthy_threshold = 3;
  /// Passive ejection: at most this share of a set's endpoints is ejected at once, so that a failure
  /// of the whole set (or of our own network) does not empty it.
  unsigned max_ejected_percent = 50;
  /// Passive ejection: how long the first ejection of an endpoint lasts (later ones grow).
  std::chrono::milliseconds ejection_time{10000};
  bool operator==(const HealthCheck&) const = default;
};

/// Pod discovery from the Kubernetes API (contract section 6): the endpoints are the Ready pods of the
/// namespace that match service.selector, each with its own labels. Replaces `endpoints:`.
struct KubernetesDiscovery {
  std::string namespace_name;
  std::uint16_t port_number = 0;  ///< the container port as a number, or 0 when given by name
  std::string port_name;          ///< the container port's name (`http`), or empty
  std::string api_server;         ///< `https://host:port`; empty: in-cluster or `kubeconfig`
  std::string kubeconfig;         ///< a kubeconfig file (current context); empty: in-cluster
  /// An `http://` API server (in api_server or the kubeconfig) is refused unless this is set: the
  /// service account's token would travel in clear text.
  bool insecure_http = false;
  bool operator==(const KubernetesDiscovery&) const = default;
};

/// The access log (contract section 10): one JSON line per request, written by a thread of its own.
struct AccessLog {
  std::string path;  ///< empty: off
  enum class Format : std::uint8_t { Json };
  Format format = Format::Json;
  bool operator==(const AccessLog&) const = default;
};

/// How the process log writes its lines: `text` (time, "canaryd:", message) or `json` (one object a line).
enum class LogFormat : std::uint8_t { Text, Json };

/// The validated configuration (contract section 2). A plain value, copied freely.
struct Config {
  std::string source;  ///< the file it was read from ("<demo>" for the embedded one)
  std::vector<Listener> listen;
  unsigned threads = 0;  ///< 0 = one per CPU (resolved by the process, not here)
  Control control;
  std::string state_file = "./canaryd-state.json";
  unsigned history_limit = 10;
  std::vector<Endpoint> endpoints;
  Service service;
  Routing routing;
  Timeouts timeouts;
  Limits limits;
  std::optional<HealthCheck> health;  ///< absent: no active probes, every endpoint counts as healthy
  std::optional<KubernetesDiscovery> discovery;  ///< present: endpoints come from the API server
  /// Routing state in this ConfigMap of discovery's namespace instead of state_file; empty: the file.
  std::string state_configmap;
  /// The default rollout plan (`rollout:`): what POST /api/rollout with an empty body starts. Absent:
  /// such a call has no plan to run.
  std::optional<RolloutPlan> rollout;
  AccessLog access_log;                   ///< `access_log:`; off unless a path is given
  LogFormat log_format = LogFormat::Text;  ///< `log_format:`

  /// service.selector AND service.stable
  Selector stable_selector() const { return Selector::conjunction(service.selector, service.stable); }
};

/// Every problem a load found, each as `FILE: field.path: message`; never empty.
using ConfigErrors = std::vector<std::string>;
/// Result of loading: a config, or every problem found.
using LoadResult = Result<Config, ConfigErrors>;

/// Reads and validates a YAML file. Reports every problem, not only the first.
LoadResult load_config_file(const std::string& path);

/// Validates YAML text; `source` names it in error messages.
LoadResult load_config_text(const std::string& text, const std::string& source);

}  // namespace canaryd::config
