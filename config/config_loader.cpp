// Parses canaryd.yaml text into config::Config and validates it: every section and cross-field rule,
// each problem collected with the field path that names it, so that one `canaryd -t` shows them all.
#include <arpa/inet.h>

#include <cctype>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

#include "config/config.hpp"
#include "config/duration.hpp"
#include "config/kubeconfig.hpp"
#include "config/logging_loader.hpp"
#include "config/rollout_loader.hpp"
#include "config/yaml_fields.hpp"

namespace canaryd::config {
namespace {

using detail::Diagnostics;

constexpr std::uint64_t kMaxThreads = 256;
constexpr std::uint64_t kMaxHistoryLimit = 1000;
constexpr std::uint64_t kMaxRetries = 10;
constexpr std::uint64_t kMinHeaderBytes = 1024;
constexpr std::uint64_t kMaxHeaderBytes = 1024 * 1024;
// HTTP/2 streams at once per connection: RFC 9113 recommends no fewer than 100; 2^31-1 is the field's top.
constexpr std::uint64_t kMaxH2Streams = 2147483647;
constexpr std::uint64_t kUnbounded = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t kMaxHealthThreshold = 100;

// RFC 9110 token characters: what a header field name may contain.
bool is_http_field_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) continue;
    if (std::strchr("!#$%&'*+-.^_`|~", c) == nullptr || c == '\0') return false;
  }
  return true;
}

// Two spellings of one socket address ("::1" and "0:0::1", "Localhost" and "localhost") compare equal.
std::string address_identity(const HostPort& hp) {
  char buf[INET6_ADDRSTRLEN] = {};
  in6_addr v6{};
  in_addr v4{};
  std::string host;
  if (inet_pton(AF_INET6, hp.host.c_str(), &v6) == 1 && inet_ntop(AF_INET6, &v6, buf, sizeof buf) != nullptr) {
    host = std::string("[") + buf + "]";
  } else if (inet_pton(AF_INET, hp.host.c_str(), &v4) == 1 && inet_ntop(AF_INET, &v4, buf, sizeof buf) != nullptr) {
    host = buf;
  } else {
    host = hp.host;
    for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return host + ":" + std::to_string(hp.port);
}

// One pass over the document: every section is read into `config_`, every problem goes to `diags_`,
// and reading continues after a problem so that one run of `canaryd -t` shows all of them.

// Counts YAML documents, stopping at `cap`. yaml-cpp 0.7's LoadAll never returns on some malformed
// input (a stray ',': upstream issue #1040, found by our fuzzer) and grows without bound, which a
// SIGHUP with a bad file would turn into a dead proxy; this loop is bounded.
int count_documents(const std::string& text, int cap) {
  struct Ignore : YAML::EventHandler {
    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  } ignore;
  std::istringstream in(text);
  YAML::Parser parser(in);
  int documents = 0;
  while (documents < cap && parser.HandleNextDocument(ignore)) ++documents;
  return documents;
}

class Loader {
 public:
  explicit Loader(const std::string& source) : diags_(source) { config_.source = source; }

  LoadResult load(const std::string& text) {
    try {
      const int documents = count_documents(text, 2);
      const YAML::Node doc = documents == 0 ? YAML::Node() : YAML::Load(text);
      if (doc.IsNull()) {
        diags_.add("", "the configuration is empty; it needs at least listen and service");
      } else if (documents > 1) {
        diags_.add("", "more than one YAML document ('---'); put the whole configuration in one");
      } else if (!doc.IsMap()) {
        diags_.add("", "the top level must be a map of settings, got " + detail::describe_node(doc));
      } else {
        load_root(doc);
      }
    } catch (const YAML::Exception& e) {
      if (e.mark.is_null()) {
        diags_.add("", e.msg);
      } else {
        diags_.add("", "line " + std::to_string(e.mark.line + 1) + ", column " + std::to_string(e.mark.column + 1) +
                           ": " + e.msg);
      }
    } catch (const std::exception& e) {
      // Nothing above should throw anything else; if it does, it is still an error, not a crash.
      diags_.add("", std::string("cannot load: ") + e.what());
    }
    if (!diags_.empty()) return fail(diags_.take());
    return std::move(config_);
  }

 private:
  void load_root(const YAML::Node& root) {
    const auto present =
        detail::visit_map(root, "",
                          {"listen", "threads", "control", "state_file", "history_limit", "endpoints", "service",
                           "routing", "timeouts", "limits", "health", "discovery", "state", "rollout", "access_log",
                           "log_format"},
                          diags_, [this](const std::string& key, const YAML::Node& value, const std::string& path) {
                            load_root_field(key, value, path);
                          });
    if (!present.count("listen")) diags_.add("listen", "required (a list of {address: host:port})");
    if (!present.count("service")) diags_.add("service", "required (at least service.stable)");
    check_control_address();
    check_control_authentication();
    if (config_.discovery && !config_.endpoints.empty())
      diags_.add("endpoints", "not allowed with discovery.kubernetes: the endpoints are the pods it finds");
    if (!config_.state_configmap.empty()) {
      if (present.count("state_file"))
        diags_.add("state_file", "not allowed with state.kubernetes_configmap: the state lives in the ConfigMap");
      if (!config_.discovery && !present.count("discovery"))
        diags_.add("state.kubernetes_configmap", "needs discovery.kubernetes (its namespace and API server)");
    }
  }

  void load_root_field(const std::string& key, const YAML::Node& value, const std::string& path) {
    if (key == "listen") {
      load_listen(value, path);
    } else if (key == "threads") {
      if (auto v = detail::read_integer(value, path, 0, kMaxThreads, diags_)) {
        config_.threads = static_cast<unsigned>(*v);
      }
    } else if (key == "control") {
      load_control(value, path);
    } else if (key == "state_file") {
      auto v = detail::read_string(value, path, diags_);
      if (v && v->empty()) diags_.add(path, "must not be empty");
      if (v && !v->empty()) config_.state_file = *v;
    } else if (key == "history_limit") {
      if (auto v = detail::read_integer(value, path, 1, kMaxHistoryLimit, diags_)) {
        config_.history_limit = static_cast<unsigned>(*v);
      }
    } else if (key == "endpoints") {
      load_endpoints(value, path);
    } else if (key == "service") {
      load_service(value, path);
    } else if (key == "routing") {
      load_routing(value, path);
    } else if (key == "timeouts") {
      load_timeouts(value, path);
    } else if (key == "limits") {
      load_limits(value, path);
    } else if (key == "health") {
      load_health(value, path);
    } else if (key == "discovery") {
      load_discovery(value, path);
    } else if (key == "state") {
      load_state(value, path);
    } else if (key == "rollout") {
      config_.rollout = detail::read_rollout_plan(value, path, diags_);
    } else if (key == "access_log") {
      if (auto log = detail::read_access_log(value, path, diags_)) config_.access_log = *log;
    } else if (key == "log_format") {
      if (auto format = detail::read_log_format(value, path, diags_)) config_.log_format = *format;
    }
  }

  void load_discovery(const YAML::Node& node, const std::string& path) {
    if (!detail::expect_section(node, path, "a map {kubernetes: {...}}", diags_) || node.IsNull()) return;
    detail::visit_map(node, path, {"kubernetes"}, diags_,
                      [&](const std::string&, const YAML::Node& value, const std::string& field) {
                        load_kubernetes(value, field);
                      });
  }

  void load_kubernetes(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap()) {
      diags_.add(path, "must be a map {namespace, port, api_server, kubeconfig, insecure_http}, got " +
                           detail::describe_node(node));
      return;
    }
    KubernetesDiscovery k;
    bool ok = true;
    const auto present = detail::visit_map(
        node, path, {"namespace", "port", "api_server", "kubeconfig", "insecure_http"}, diags_,
        [&](const std::string& key, const YAML::Node& value, const std::string& field) {
          if (key == "port") {
            ok = load_kube_port(value, field, k) && ok;
            return;
          }
          if (key == "insecure_http") {
            const auto b = detail::read_bool(value, field, diags_);
            ok = b.has_value() && ok;
            k.insecure_http = b.value_or(true);  // when refused, one error is enough
            return;
          }
          auto v = detail::read_string(value, field, diags_);
          if (!v) {
            ok = false;
          } else if (key == "namespace") {
            if (!dns_label(*v, 63)) {
              diags_.add(field, "must be a Kubernetes namespace name (lowercase letters, digits and '-'), got \"" +
                                    *v + "\"");
              ok = false;
            }
            k.namespace_name = *v;
          } else if (key == "api_server") {
            if (!v->empty() && !(v->starts_with("https://") || v->starts_with("http://"))) {
              diags_.add(field, "must be a URL such as https://10.0.0.1:443, got \"" + *v + "\"");
              ok = false;
            }
            k.api_server = *v;
          } else {
            k.kubeconfig = *v;
          }
        });
    for (const char* key : {"namespace", "port"}) {
      if (!present.count(key)) {
        diags_.add(detail::child_path(path, key), "required");
        ok = false;
      }
    }
    if (k.api_server.starts_with("http://") && !k.insecure_http) {
      diags_.add(detail::child_path(path, "api_server"), std::string(kClearTextApiServer));
      ok = false;
    }
    if (!k.api_server.empty() && !k.kubeconfig.empty()) {
      diags_.add(detail::child_path(path, "kubeconfig"), "not allowed with api_server: give one or the other");
      ok = false;
    }
    if (ok) config_.discovery = std::move(k);
  }

  // A container port: its number, or its name (an IANA service name, as in a Pod spec).
  bool load_kube_port(const YAML::Node& node, const std::string& path, KubernetesDiscovery& k) {
    if (node.IsScalar() && !detail::is_string_scalar(node) && !node.Scalar().empty() &&
        std::isdigit(static_cast<unsigned char>(node.Scalar()[0]))) {
      auto v = detail::read_integer(node, path, 1, 65535, diags_);
      if (v) k.port_number = static_cast<std::uint16_t>(*v);
      return v.has_value();
    }
    auto v = detail::read_string(node, path, diags_);
    if (!v) return false;
    bool letter = false;
    for (char c : *v) letter = letter || std::isalpha(static_cast<unsigned char>(c));
    if (!dns_label(*v, 15) || !letter) {
      diags_.add(path, "must be a port number (1 to 65535) or a container port name such as http, got \"" + *v + "\"");
      return false;
    }
    k.port_name = *v;
    return true;
  }

  void load_state(const YAML::Node& node, const std::string& path) {
    if (!detail::expect_section(node, path, "a map {kubernetes_configmap: NAME}", diags_) || node.IsNull()) return;
    detail::visit_map(node, path, {"kubernetes_configmap"}, diags_,
                      [&](const std::string&, const YAML::Node& value, const std::string& field) {
                        auto v = detail::read_string(value, field, diags_);
                        if (!v) return;
                        if (!dns_subdomain(*v)) {
                          diags_.add(field, "must be a ConfigMap name (lowercase letters, digits, '-' and '.'), got \"" +
                                                *v + "\"");
                          return;
                        }
                        config_.state_configmap = *v;
                      });
  }

  // RFC 1123 label as Kubernetes uses it: lowercase alphanumerics and '-', alphanumeric at both ends.
  static bool dns_label(const std::string& s, std::size_t max) {
    if (s.empty() || s.size() > max || s.front() == '-' || s.back() == '-') return false;
    for (unsigned char c : s)
      if (!(std::islower(c) || std::isdigit(c) || c == '-')) return false;
    return true;
  }

  static bool dns_subdomain(const std::string& s) {
    if (s.empty() || s.size() > 253) return false;
    std::size_t start = 0;
    while (true) {
      std::size_t dot = s.find('.', start);
      if (!dns_label(s.substr(start, dot - start), 63)) return false;
      if (dot == std::string::npos) return true;
      start = dot + 1;
    }
  }

  void load_listen(const YAML::Node& node, const std::string& path) {
    if (!node.IsSequence()) {
      diags_.add(path, "must be a list of {address: host:port}, got " + detail::describe_node(node));
      return;
    }
    if (node.size() == 0) {
      diags_.add(path, "must have at least one entry");
      return;
    }
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string item = detail::item_path(path, i);
      const YAML::Node entry = node[i];
      if (!entry.IsMap()) {
        diags_.add(item, "must be a map {address: host:port}, got " + detail::describe_node(entry));
        continue;
      }
      std::optional<HostPort> address;
      std::optional<ListenerTls> tls;
      bool tls_ok = true;
      bool http2 = false;
      const auto present = detail::visit_map(
          entry, item, {"address", "tls", "http2"}, diags_,
          [&](const std::string& key, const YAML::Node& value, const std::string& field) {
            if (key == "address") {
              address = detail::read_address(value, field, /*allow_port_zero=*/true, diags_);
            } else if (key == "http2") {
              if (auto v = detail::read_bool(value, field, diags_)) http2 = *v;
            } else {
              tls = load_listener_tls(value, field);
              tls_ok = tls.has_value();
            }
          });
      if (!present.count("address")) {
        diags_.add(detail::child_path(item, "address"), "required");
        continue;
      }
      if (!address || !tls_ok) continue;  // reported by the readers
      // Port 0 asks for an ephemeral port, so two such listeners do not collide.
      if (address->port != 0) {
        const auto [it, inserted] = seen.emplace(address_identity(*address), i);
        if (!inserted) {
          diags_.add(detail::child_path(item, "address"),
                     "duplicate of " + detail::item_path(path, it->second) + ".address (" + address->to_string() + ")");
          continue;
        }
      }
      config_.listen.push_back(Listener{*address, std::move(tls), http2});
    }
  }

  // Both files are required; whether they hold a usable certificate and key is checked where they are
  // loaded (the proxy layer, also for `-t`), so that this layer needs no OpenSSL.
  std::optional<ListenerTls> load_listener_tls(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap()) {
      diags_.add(path, "must be a map {cert: FILE, key: FILE}, got " + detail::describe_node(node));
      return std::nullopt;
    }
    ListenerTls tls;
    bool ok = true;
    const auto present = detail::visit_map(node, path, {"cert", "key"}, diags_,
                                           [&](const std::string& key, const YAML::Node& value, const std::string& field) {
                                             auto v = read_file_name(value, field);
                                             if (!v) ok = false;
                                             (key == "cert" ? tls.cert : tls.key) = v.value_or("");
                                           });
    for (const char* key : {"cert", "key"}) {
      if (!present.count(key)) {
        diags_.add(detail::child_path(path, key), "required (a PEM file)");
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return tls;
  }

  std::optional<EndpointTls> load_endpoint_tls(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap() && !node.IsNull()) {
      diags_.add(path, "must be a map {ca: FILE, server_name: NAME} (both optional), got " + detail::describe_node(node));
      return std::nullopt;
    }
    EndpointTls tls;
    if (node.IsNull()) return tls;
    bool ok = true;
    detail::visit_map(node, path, {"ca", "server_name"}, diags_,
                      [&](const std::string& key, const YAML::Node& value, const std::string& field) {
                        if (key == "ca") {
                          auto v = read_file_name(value, field);
                          if (!v) ok = false;
                          tls.ca = v.value_or("");
                          return;
                        }
                        auto v = detail::read_string(value, field, diags_);
                        if (v && !valid_server_name(*v)) {
                          diags_.add(field, "must be a DNS name such as v1.web.svc, got \"" + *v + "\"");
                          v.reset();
                        }
                        if (!v) ok = false;
                        tls.server_name = v.value_or("");
                      });
    if (!ok) return std::nullopt;
    return tls;
  }

  std::optional<std::string> read_file_name(const YAML::Node& node, const std::string& path) {
    auto v = detail::read_string(node, path, diags_);
    if (v && v->empty()) {
      diags_.add(path, "must name a file");
      return std::nullopt;
    }
    return v;
  }

  // RFC 1123 host names: letters, digits, '-' and '.', as SNI carries them.
  static bool valid_server_name(const std::string& name) {
    if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.') return false;
    for (unsigned char c : name)
      if (!std::isalnum(c) && c != '-' && c != '.') return false;
    return true;
  }

  void load_control(const YAML::Node& node, const std::string& path) {
    if (!detail::expect_section(node, path, "a map {address, token_file, allow_unauthenticated}", diags_) || node.IsNull()) return;
    detail::visit_map(node, path, {"address", "token_file", "allow_unauthenticated"}, diags_,
                      [&](const std::string& key, const YAML::Node& value, const std::string& field) {
                        if (key == "address") {
                          if (auto a = detail::read_address(value, field, /*allow_port_zero=*/true, diags_)) {
                            config_.control.address = *a;
                          }
                        } else if (key == "allow_unauthenticated") {
                          if (auto b = detail::read_bool(value, field, diags_)) {
                            config_.control.allow_unauthenticated = *b;
                          }
                        } else if (auto s = detail::read_string(value, field, diags_)) {
                          config_.control.token_file = *s;
                        }
                      });
  }

  // Anyone who can reach a non-loopback control port could change the weights (and any pod in a
  // cluster can reach it): that needs a token, or a deliberate opt-out.
  void check_control_authentication() {
    const Control& c = config_.control;
    if (!c.token_file.empty() || c.allow_unauthenticated || is_loopback_host(c.address.host)) return;
    diags_.add("control.address", c.address.to_string() +
                                      " is not a loopback address: set control.token_file, or control."
                                      "allow_unauthenticated: true to let anyone who reaches it change the routing");
  }

  // The control server and a listener on one socket address would fail at bind time with a less
  // helpful message; say it here, where `canaryd -t` can catch it.
  void check_control_address() {
    const HostPort& control = config_.control.address;
    if (control.port == 0) return;
    for (std::size_t i = 0; i < config_.listen.size(); ++i) {
      if (address_identity(config_.listen[i].address) == address_identity(control)) {
        diags_.add("control.address",
                   "same address as listen[" + std::to_string(i) + "].address (" + control.to_string() + ")");
      }
    }
  }

  void load_endpoints(const YAML::Node& node, const std::string& path) {
    if (node.IsNull()) return;
    if (!node.IsSequence()) {
      diags_.add(path, "must be a list of {address: host:port, labels: {...}}, got " + detail::describe_node(node));
      return;
    }
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string item = detail::item_path(path, i);
      const YAML::Node entry = node[i];
      if (!entry.IsMap()) {
        diags_.add(item, "must be a map {address: host:port, labels: {...}}, got " + detail::describe_node(entry));
        continue;
      }
      // Read into optionals: a value refused for any reason (wrong type, stray tag) stays empty.
      std::optional<HostPort> address;
      std::optional<Labels> labels = Labels{};
      std::optional<EndpointTls> tls;
      bool tls_ok = true;
      const auto present =
          detail::visit_map(entry, item, {"address", "labels", "tls"}, diags_,
                            [&](const std::string& key, const YAML::Node& value, const std::string& field) {
                              if (key == "address") {
                                address = detail::read_address(value, field, /*allow_port_zero=*/false, diags_);
                              } else if (key == "labels") {
                                labels = detail::read_labels(value, field, diags_);
                              } else {
                                tls = load_endpoint_tls(value, field);
                                tls_ok = tls.has_value();
                              }
                            });
      if (!present.count("address")) {
        diags_.add(detail::child_path(item, "address"), "required");
        continue;
      }
      if (!address || !labels || !tls_ok) continue;  // reported by the readers
      Endpoint endpoint{*address, std::move(*labels), std::move(tls), ""};
      const auto [it, inserted] = seen.emplace(address_identity(endpoint.address), i);
      if (!inserted) {
        diags_.add(detail::child_path(item, "address"), "duplicate of " + detail::item_path(path, it->second) +
                                                            ".address (" + endpoint.address.to_string() + ")");
        continue;
      }
      config_.endpoints.push_back(std::move(endpoint));
    }
  }

  void load_service(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap()) {
      diags_.add(path, "must be a map {selector, stable, canary, canary_weight}, got " + detail::describe_node(node));
      return;
    }
    // Read into optionals: a value refused for any reason (wrong type, stray tag) stays empty, and the
    // checks between fields below run only on values that were read.
    std::optional<Selector> selector;
    std::optional<Selector> stable;
    std::optional<Selector> canary;
    std::optional<BasisPoints> weight;
    bool canary_null = false;
    const auto present =
        detail::visit_map(node, path, {"selector", "stable", "canary", "canary_weight"}, diags_,
                          [&](const std::string& key, const YAML::Node& value, const std::string& field) {
                            if (key == "selector") {
                              selector = detail::read_selector(value, field, diags_);
                            } else if (key == "stable") {
                              stable = detail::read_selector(value, field, diags_);
                            } else if (key == "canary") {
                              canary_null = value.IsNull();  // explicitly no canary
                              if (!canary_null) canary = detail::read_selector(value, field, diags_);
                            } else {
                              weight = detail::read_weight(value, field, diags_);
                            }
                          });
    const bool selector_ok = !present.count("selector") || selector;
    const bool stable_ok = stable.has_value();
    const bool canary_ok = !present.count("canary") || canary || canary_null;
    const bool weight_ok = !present.count("canary_weight") || weight;
    auto& service = config_.service;
    if (selector) service.selector = std::move(*selector);
    if (stable) service.stable = std::move(*stable);
    service.canary = std::move(canary);
    if (weight) service.canary_weight = *weight;

    const std::string stable_path = detail::child_path(path, "stable");
    const std::string canary_path = detail::child_path(path, "canary");
    if (!present.count("stable")) diags_.add(stable_path, "required (a label map or a selector string)");

    if (weight_ok && canary_ok && service.canary_weight > 0 && !service.canary) {
      diags_.add(
          detail::child_path(path, "canary_weight"),
          "is " + format_weight(service.canary_weight) + " but service.canary is not set; define a canary or use 0");
    }
    if (!selector_ok) return;  // every set check below depends on the service selector

    std::optional<Selector> stable_set;
    if (stable_ok) {
      stable_set = Selector::conjunction(service.selector, service.stable);
      if (!stable_set->satisfiable()) {
        diags_.add(stable_path, "can never match any endpoint: together with service.selector it requires \"" +
                                    stable_set->to_string() + "\", which contradicts itself");
        stable_set.reset();
      }
    }
    if (!canary_ok || !service.canary) return;
    const Selector canary_set = Selector::conjunction(service.selector, *service.canary);
    if (!canary_set.satisfiable()) {
      diags_.add(canary_path, "can never match any endpoint: together with service.selector it requires \"" +
                                  canary_set.to_string() + "\", which contradicts itself");
      return;
    }
    if (stable_set && !stable_set->provably_disjoint(canary_set)) {
      const std::string sets =
          "stable: \"" + stable_set->to_string() + "\", canary: \"" + canary_set.to_string() + "\"";
      diags_.add(
          canary_path,
          "overlaps service.stable (both can match the same endpoints); the sets must be disjoint (" + sets + ")");
    }
  }

  void load_routing(const YAML::Node& node, const std::string& path) {
    if (!detail::expect_section(node, path,
                                "a map {override_header, override_cookie, override_sources, affinity, "
                                "response_header, retries}",
                                diags_)) {
      return;
    }
    if (node.IsNull()) return;
    detail::visit_map(node, path,
                      {"override_header", "override_cookie", "override_sources", "affinity", "response_header",
                       "retries"},
                      diags_, [this](const std::string& key, const YAML::Node& value, const std::string& field) {
                        if (key == "retries") {
                          auto v = detail::read_integer(value, field, 0, kMaxRetries, diags_);
                          if (v) config_.routing.retries = static_cast<unsigned>(*v);
                        } else if (key == "override_sources") {
                          load_override_sources(value, field);
                        } else if (key == "affinity") {
                          load_affinity(value, field);
                        } else if (key == "override_cookie") {
                          if (auto name = read_cookie_name(value, field)) config_.routing.override_cookie = *name;
                        } else if (auto name = read_header_name(value, field)) {
                          auto& target = key == "override_header" ? config_.routing.override_header
                                                                  : config_.routing.response_header;
                          target = *name;
                        }
                      });
  }

  void load_override_sources(const YAML::Node& node, const std::string& path) {
    if (!node.IsSequence()) {
      diags_.add(path, "must be a list of CIDR blocks like [10.0.0.0/8, \"::1/128\"], got " +
                           detail::describe_node(node));
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string item = detail::item_path(path, i);
      auto text = detail::read_string(node[i], item, diags_);
      if (!text) continue;
      auto block = Cidr::parse(*text);
      if (!block) {
        diags_.add(item, block.error().message);
        continue;
      }
      config_.routing.override_sources.push_back(*block);
    }
  }

  void load_affinity(const YAML::Node& node, const std::string& path) {
    if (!detail::expect_section(node, path, "a map {key, set_cookie}", diags_) || node.IsNull()) return;
    auto& affinity = config_.routing.affinity;
    detail::visit_map(node, path, {"key", "set_cookie"}, diags_,
                      [&](const std::string& key, const YAML::Node& value, const std::string& field) {
                        if (key == "set_cookie") {
                          if (auto name = read_cookie_name(value, field)) affinity.set_cookie = *name;
                        } else if (auto text = detail::read_string(value, field, diags_)) {
                          read_affinity_key(*text, field);
                        }
                      });
    if (affinity.set_cookie.empty()) return;
    if (affinity.key != Affinity::Key::Cookie || affinity.name != affinity.set_cookie) {
      diags_.add(detail::child_path(path, "set_cookie"),
                 "names the cookie canaryd sets for affinity, so affinity.key must be \"cookie:" +
                     affinity.set_cookie + "\"");
    }
  }

  /// "cookie:NAME", "header:NAME", "client_ip" or "".
  void read_affinity_key(const std::string& text, const std::string& field) {
    auto& affinity = config_.routing.affinity;
    const std::string_view view(text);
    const auto colon = view.find(':');
    const std::string_view kind = view.substr(0, colon);
    const std::string name = colon == std::string_view::npos ? "" : std::string(view.substr(colon + 1));
    if (text.empty()) {
      affinity.key = Affinity::Key::None;
    } else if (text == "client_ip") {
      affinity.key = Affinity::Key::ClientIp;
    } else if ((kind == "cookie" || kind == "header") && colon != std::string_view::npos &&
               is_http_field_name(name)) {
      // A cookie name is an HTTP token too (RFC 6265), so one check serves both.
      affinity.key = kind == "cookie" ? Affinity::Key::Cookie : Affinity::Key::Header;
      affinity.name = name;
    } else {
      diags_.add(field, "must be \"cookie:NAME\", \"header:NAME\", \"client_ip\" or \"\" (none), got \"" +
                            text + "\"");
    }
  }

  std::optional<std::string> read_cookie_name(const YAML::Node& value, const std::string& field) {
    // A cookie name is an HTTP token as a header name is (RFC 6265).
    return read_token(value, field, "a cookie name");
  }

  std::optional<std::string> read_header_name(const YAML::Node& value, const std::string& field) {
    return read_token(value, field, "an HTTP header name");
  }

  /// A string that is "" or an HTTP token, described as `what` in the error.
  std::optional<std::string> read_token(const YAML::Node& value, const std::string& field, const std::string& what) {
    auto name = detail::read_string(value, field, diags_);
    if (name && !name->empty() && !is_http_field_name(*name)) {
      diags_.add(field, "must be " + what + " (letters, digits and !#$%&'*+-.^_`|~) or \"\" to disable, got \"" +
                            *name + "\"");
      return std::nullopt;
    }
    return name;
  }

  void load_timeouts(const YAML::Node& node, const std::string& path) {
    if (!detail::expect_section(node, path, "a map of durations", diags_) || node.IsNull()) return;
    auto& t = config_.timeouts;
    const std::map<std::string, std::chrono::milliseconds*> fields = {{"connect", &t.connect},
                                                                      {"upstream", &t.upstream},
                                                                      {"client_header", &t.client_header},
                                                                      {"keepalive_idle", &t.keepalive_idle},
                                                                      {"drain", &t.drain},
                                                                      {"tunnel_idle", &t.tunnel_idle}};
    detail::visit_map(node, path, {"connect", "upstream", "client_header", "keepalive_idle", "drain", "tunnel_idle"},
                      diags_,
                      [&](const std::string& key, const YAML::Node& value, const std::string& field) {
                        // drain 0 means "stop at once"; every other timeout at 0 would fail every request.
                        if (auto d = detail::read_duration(value, field, /*allow_zero=*/key == "drain", diags_)) {
                          *fields.at(key) = *d;
                        }
                      });
  }

  void load_limits(const YAML::Node& node, const std::string& path) {
    if (!detail::expect_section(node, path, "a map {max_header_bytes, max_body_bytes, max_connections, h2_max_concurrent_streams}",
                                 diags_) ||
        node.IsNull()) {
      return;
    }
    detail::visit_map(node, path, {"max_header_bytes", "max_body_bytes", "max_connections", "h2_max_concurrent_streams"},
                      diags_, [&](const std::string& key, const YAML::Node& value, const std::string& field) {
                        if (key == "h2_max_concurrent_streams") {
                          if (auto v = detail::read_integer(value, field, 1, kMaxH2Streams, diags_)) {
                            config_.limits.h2_max_concurrent_streams = *v;
                          }
                        } else if (key == "max_header_bytes") {
                          if (auto v = detail::read_integer(value, field, kMinHeaderBytes, kMaxHeaderBytes, diags_)) {
                            config_.limits.max_header_bytes = *v;
                          }
                        } else if (auto v = detail::read_integer(value, field, 0, kUnbounded, diags_)) {
                          if (key == "max_body_bytes") {
                            config_.limits.max_body_bytes = *v;
                          } else {
                            config_.limits.max_connections = *v;
                          }
                        }
                      });
  }

  void load_health(const YAML::Node& node, const std::string& path) {
    if (!detail::expect_section(node, path,
                                "a map {path, interval, timeout, healthy_threshold, unhealthy_threshold, max_ejected_percent, ejection_time}", diags_)) {
      return;
    }
    HealthCheck h;
    if (!node.IsNull()) {
      detail::visit_map(node, path,
                        {"path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold", "max_ejected_percent",
                         "ejection_time"},
                        diags_,
                        [&](const std::string& key, const YAML::Node& value, const std::string& field) {
                          if (key == "path") {
                            auto v = detail::read_string(value, field, diags_);
                            if (v && !valid_probe_path(*v)) {
                              diags_.add(field, "must be an absolute path such as /healthz (no spaces or control "
                                                "characters), got \"" + *v + "\"");
                            } else if (v) {
                              h.path = *v;
                            }
                          } else if (key == "interval" || key == "timeout") {
                            if (auto d = detail::read_duration(value, field, /*allow_zero=*/false, diags_))
                              (key == "interval" ? h.interval : h.timeout) = *d;
                          } else if (key == "ejection_time") {
                            if (auto d = detail::read_duration(value, field, /*allow_zero=*/false, diags_))
                              h.ejection_time = *d;
                          } else if (key == "max_ejected_percent") {
                            if (auto v = detail::read_integer(value, field, 0, 100, diags_))
                              h.max_ejected_percent = static_cast<unsigned>(*v);
                          } else if (auto v = detail::read_integer(value, field, 1, kMaxHealthThreshold, diags_)) {
                            (key == "healthy_threshold" ? h.healthy_threshold : h.unhealthy_threshold) =
                                static_cast<unsigned>(*v);
                          }
                        });
    }
    if (h.timeout > h.interval) {
      diags_.add(path + ".timeout", "must not be longer than health.interval (" + format_duration(h.interval) + ")");
    }
    config_.health = h;
  }

  static bool valid_probe_path(const std::string& p) {
    if (p.empty() || p.front() != '/') return false;
    for (unsigned char c : p)
      if (c <= 0x20 || c >= 0x7f) return false;
    return true;
  }

  Config config_;
  Diagnostics diags_;
};

}  // namespace

LoadResult load_config_text(const std::string& text, const std::string& source) {
  try {
    return Loader(source).load(text);
  } catch (const std::exception& e) {
    // Out of memory or similar: still an answer, never an exception (callers print and exit 1).
    return fail(ConfigErrors{source + ": cannot load: " + e.what()});
  }
}

}  // namespace canaryd::config
