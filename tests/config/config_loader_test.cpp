// Unit tests of loading canaryd.yaml: defaults, every section and field, and each validation error with the
// field path and message `canaryd -t` prints.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.hpp"

namespace canaryd::config {
namespace {

using std::chrono::milliseconds;

// The smallest valid configuration; tests add one mistake to it.
constexpr const char* kMinimal = R"(
listen:
  - address: 127.0.0.1:0
service:
  stable: {version: v1}
)";

std::vector<std::string> errors_of(const std::string& yaml) {
  const LoadResult r = load_config_text(yaml, "x.yaml");
  return r ? std::vector<std::string>{} : r.error();
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "\n  " + l;
  return out;
}

// Exactly one error, and it starts with `prefix` (the `FILE: field.path:` part, often the whole line).
void expect_single_error(const std::string& yaml, const std::string& prefix) {
  const auto errors = errors_of(yaml);
  ASSERT_EQ(errors.size(), 1u) << join(errors);
  EXPECT_EQ(errors[0].substr(0, prefix.size()), prefix) << errors[0];
}

Config must_load(const std::string& yaml) {
  LoadResult r = load_config_text(yaml, "x.yaml");
  EXPECT_TRUE(r.ok()) << join(r ? std::vector<std::string>{} : r.error());
  return r.value_or(Config{});
}

TEST(ConfigLoaderTest, MinimalConfigGetsEveryDefault) {
  const Config c = must_load(kMinimal);
  EXPECT_EQ(c.source, "x.yaml");
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].address, (HostPort{"127.0.0.1", 0}));
  EXPECT_EQ(c.threads, 0u);
  EXPECT_EQ(c.control.address, (HostPort{"127.0.0.1", 9901}));
  EXPECT_EQ(c.control.token_file, "");
  EXPECT_EQ(c.state_file, "./canaryd-state.json");
  EXPECT_EQ(c.history_limit, 10u);
  EXPECT_TRUE(c.endpoints.empty());
  EXPECT_TRUE(c.service.selector.empty());
  EXPECT_EQ(c.service.stable.to_string(), "version=v1");
  EXPECT_FALSE(c.service.canary.has_value());
  EXPECT_EQ(c.service.canary_weight, 0u);
  EXPECT_EQ(c.routing.override_header, "X-Canary");
  EXPECT_EQ(c.routing.response_header, "X-Canary-Set");
  EXPECT_EQ(c.routing.retries, 2u);
  EXPECT_EQ(c.timeouts.connect, milliseconds(2000));
  EXPECT_EQ(c.timeouts.upstream, milliseconds(30000));
  EXPECT_EQ(c.timeouts.client_header, milliseconds(10000));
  EXPECT_EQ(c.timeouts.keepalive_idle, milliseconds(60000));
  EXPECT_EQ(c.timeouts.drain, milliseconds(30000));
  EXPECT_EQ(c.timeouts.tunnel_idle, milliseconds(3600000));
  EXPECT_EQ(c.limits.max_header_bytes, 16384u);
  EXPECT_EQ(c.limits.max_body_bytes, 0u);
}

TEST(ConfigLoaderTest, EveryKeyIsRead) {
  const Config c = must_load(R"(
listen:
  - address: 0.0.0.0:31180
  - address: "[::]:31181"
threads: 4
control: {address: "127.0.0.1:9902", token_file: /etc/canaryd/token}
state_file: /var/lib/canaryd/state.json
history_limit: 25
endpoints:
  - {address: 127.0.0.1:18081, labels: {name: nginx, version: v1}}
  - address: 127.0.0.1:18082
    labels:
      name: nginx
      version: v2
      app.kubernetes.io/part-of: shop
service:
  selector: name=nginx
  stable: {version: v1}
  canary: version in (v2)
  canary_weight: 12.5
routing: {override_header: X-Force-Set, response_header: "", retries: 0}
timeouts: {connect: 250ms, upstream: 1m, client_header: 5s, keepalive_idle: 1h, drain: 0s, tunnel_idle: 90s}
limits: {max_header_bytes: 8192, max_body_bytes: 1048576}
)");
  ASSERT_EQ(c.listen.size(), 2u);
  EXPECT_EQ(c.listen[1].address, (HostPort{"::", 31181}));
  EXPECT_EQ(c.threads, 4u);
  EXPECT_EQ(c.control.address, (HostPort{"127.0.0.1", 9902}));
  EXPECT_EQ(c.control.token_file, "/etc/canaryd/token");
  EXPECT_EQ(c.state_file, "/var/lib/canaryd/state.json");
  EXPECT_EQ(c.history_limit, 25u);
  ASSERT_EQ(c.endpoints.size(), 2u);
  EXPECT_EQ(c.endpoints[1].address.to_string(), "127.0.0.1:18082");
  EXPECT_EQ(c.endpoints[1].labels.at("app.kubernetes.io/part-of"), "shop");
  EXPECT_EQ(c.service.selector.to_string(), "name=nginx");
  EXPECT_EQ(c.stable_selector().to_string(), "name=nginx,version=v1");
  ASSERT_TRUE(c.service.canary.has_value());
  EXPECT_EQ(c.service.canary->to_string(), "version in (v2)");
  EXPECT_EQ(c.service.canary_weight, 1250u);
  EXPECT_EQ(c.routing.override_header, "X-Force-Set");
  EXPECT_EQ(c.routing.response_header, "");
  EXPECT_EQ(c.routing.retries, 0u);
  EXPECT_EQ(c.timeouts.connect, milliseconds(250));
  EXPECT_EQ(c.timeouts.upstream, milliseconds(60000));
  EXPECT_EQ(c.timeouts.client_header, milliseconds(5000));
  EXPECT_EQ(c.timeouts.keepalive_idle, milliseconds(3600000));
  EXPECT_EQ(c.timeouts.drain, milliseconds(0));
  EXPECT_EQ(c.timeouts.tunnel_idle, milliseconds(90000));
  EXPECT_EQ(c.limits.max_header_bytes, 8192u);
  EXPECT_EQ(c.limits.max_body_bytes, 1048576u);
}

TEST(ConfigLoaderTest, NullSectionKeepsDefaults) {
  const Config c = must_load(std::string(kMinimal) + "routing:\ntimeouts:\nlimits:\ncontrol:\nendpoints:\n");
  EXPECT_EQ(c.routing.retries, 2u);
  EXPECT_EQ(c.timeouts.drain, milliseconds(30000));
}

TEST(ConfigLoaderTest, UnknownTopLevelKeyIsAnError) {
  EXPECT_EQ(errors_of(std::string(kMinimal) + "no_such_key: 1\n"),
            std::vector<std::string>{"x.yaml: no_such_key: unknown key"});
}

TEST(ConfigLoaderTest, UnknownNestedKeyIsAnError) {
  expect_single_error(std::string(kMinimal) + "timeouts: {conect: 2s}\n", "x.yaml: timeouts.conect: unknown key");
}

TEST(ConfigLoaderTest, UnknownKeyInAListItemIsAnError) {
  expect_single_error(std::string(kMinimal) + "endpoints:\n  - {address: 127.0.0.1:1, weight: 5}\n",
                      "x.yaml: endpoints[0].weight: unknown key");
}

constexpr const char* kDiscovery = R"(
listen:
  - address: 127.0.0.1:0
service: {selector: {name: nginx}, stable: {version: v1}, canary: {version: v2}}
discovery:
  kubernetes: {namespace: web, port: 80}
)";

TEST(ConfigLoaderTest, DiscoveryIsRead) {
  const Config c = must_load(kDiscovery);
  ASSERT_TRUE(c.discovery.has_value());
  EXPECT_EQ(c.discovery->namespace_name, "web");
  EXPECT_EQ(c.discovery->port_number, 80);
  EXPECT_EQ(c.discovery->port_name, "");
  EXPECT_EQ(c.discovery->api_server, "");
  EXPECT_EQ(c.discovery->kubeconfig, "");
  EXPECT_EQ(c.state_configmap, "");
  EXPECT_FALSE(must_load(kMinimal).discovery.has_value());
}

TEST(ConfigLoaderTest, DiscoveryPortByNameAndApiServerOrKubeconfig) {
  Config c = must_load(std::string(kMinimal) +
                       "discovery: {kubernetes: {namespace: web, port: http, api_server: \"https://10.0.0.1:443\"}}\n");
  EXPECT_EQ(c.discovery->port_number, 0);
  EXPECT_EQ(c.discovery->port_name, "http");
  EXPECT_EQ(c.discovery->api_server, "https://10.0.0.1:443");
  c = must_load(std::string(kMinimal) + "discovery: {kubernetes: {namespace: web, port: 8080, kubeconfig: /k}}\n");
  EXPECT_EQ(c.discovery->port_name, "");
  EXPECT_EQ(c.discovery->port_number, 8080);
  EXPECT_EQ(c.discovery->kubeconfig, "/k");
  // As everywhere in the config, a quoted number is a string, and no port name is all digits.
  expect_single_error(std::string(kMinimal) + "discovery: {kubernetes: {namespace: web, port: \"8080\"}}\n",
                      "x.yaml: discovery.kubernetes.port: must be a port number");
}

TEST(ConfigLoaderTest, DiscoveryOverClearTextHttpNeedsInsecureHttp) {
  const std::string http = "api_server: \"http://127.0.0.1:8001\"";
  expect_single_error(std::string(kMinimal) + "discovery: {kubernetes: {namespace: web, port: 80, " + http + "}}\n",
                      "x.yaml: discovery.kubernetes.api_server: an http:// API server gets the service account's "
                      "token in clear text: use https://, or set discovery.kubernetes.insecure_http: true");
  expect_single_error(std::string(kMinimal) + "discovery: {kubernetes: {namespace: web, port: 80, " + http +
                          ", insecure_http: false}}\n",
                      "x.yaml: discovery.kubernetes.api_server: an http:// API server");
  Config c = must_load(std::string(kMinimal) + "discovery: {kubernetes: {namespace: web, port: 80, " + http +
                       ", insecure_http: true}}\n");
  EXPECT_TRUE(c.discovery->insecure_http);
  EXPECT_EQ(c.discovery->api_server, "http://127.0.0.1:8001");
  c = must_load(kDiscovery);
  EXPECT_FALSE(c.discovery->insecure_http);
  expect_single_error(std::string(kMinimal) + "discovery: {kubernetes: {namespace: web, port: 80, " + http +
                          ", insecure_http: yes}}\n",
                      "x.yaml: discovery.kubernetes.insecure_http: must be true or false");
}

TEST(ConfigLoaderTest, DiscoveryBadValuesAreErrors) {
  const auto errors = errors_of(std::string(kMinimal) + R"(discovery:
  kubernetes: {namespace: Web_1, port: 70000, api_server: "10.0.0.1:443", kubeconfig: /k, watch: true}
)");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "x.yaml: discovery.kubernetes.namespace: must be a Kubernetes namespace name (lowercase "
                        "letters, digits and '-'), got \"Web_1\"",
                        "x.yaml: discovery.kubernetes.port: must be an integer from 1 to 65535, got 70000",
                        "x.yaml: discovery.kubernetes.api_server: must be a URL such as https://10.0.0.1:443, got "
                        "\"10.0.0.1:443\"",
                        "x.yaml: discovery.kubernetes.watch: unknown key",
                        "x.yaml: discovery.kubernetes.kubeconfig: not allowed with api_server: give one or the other",
                    }));
  expect_single_error(std::string(kMinimal) + "discovery: {kubernetes: {port: 80}}\n",
                      "x.yaml: discovery.kubernetes.namespace: required");
  expect_single_error(std::string(kMinimal) + "discovery: {kubernetes: {namespace: web, port: -http}}\n",
                      "x.yaml: discovery.kubernetes.port: must be a port number");
  expect_single_error(std::string(kMinimal) + "discovery: {kubernetes: {namespace: web, port: verylongportname1}}\n",
                      "x.yaml: discovery.kubernetes.port: must be a port number");
}

TEST(ConfigLoaderTest, DiscoveryReplacesEndpoints) {
  expect_single_error(std::string(kDiscovery) + "endpoints: [{address: 127.0.0.1:1}]\n",
                      "x.yaml: endpoints: not allowed with discovery.kubernetes");
}

TEST(ConfigLoaderTest, StateConfigMapIsRead) {
  const Config c = must_load(std::string(kDiscovery) + "state: {kubernetes_configmap: canaryd-state}\n");
  EXPECT_EQ(c.state_configmap, "canaryd-state");
}

TEST(ConfigLoaderTest, StateConfigMapRules) {
  expect_single_error(std::string(kDiscovery) + "state: {kubernetes_configmap: canaryd-state}\nstate_file: /x\n",
                      "x.yaml: state_file: not allowed with state.kubernetes_configmap");
  expect_single_error(std::string(kMinimal) + "state: {kubernetes_configmap: canaryd-state}\n",
                      "x.yaml: state.kubernetes_configmap: needs discovery.kubernetes");
  expect_single_error(std::string(kDiscovery) + "state: {kubernetes_configmap: Canaryd_State}\n",
                      "x.yaml: state.kubernetes_configmap: must be a ConfigMap name");
  expect_single_error(std::string(kDiscovery) + "state: {configmap: x}\n", "x.yaml: state.configmap: unknown key");
}

TEST(ConfigLoaderTest, TlsIsAbsentByDefault) {
  const Config c = must_load(std::string(kMinimal) + "endpoints: [{address: 127.0.0.1:1}]\n");
  EXPECT_FALSE(c.listen[0].tls.has_value());
  EXPECT_FALSE(c.endpoints[0].tls.has_value());
}

TEST(ConfigLoaderTest, ListenerTlsIsRead) {
  const Config c = must_load(R"(
listen:
  - {address: 127.0.0.1:0, tls: {cert: /etc/canaryd/tls.crt, key: /etc/canaryd/tls.key}}
  - {address: 127.0.0.1:1}
service: {stable: {version: v1}}
)");
  ASSERT_TRUE(c.listen[0].tls.has_value());
  EXPECT_EQ(c.listen[0].tls->cert, "/etc/canaryd/tls.crt");
  EXPECT_EQ(c.listen[0].tls->key, "/etc/canaryd/tls.key");
  EXPECT_FALSE(c.listen[1].tls.has_value());
}

TEST(ConfigLoaderTest, ListenerTlsNeedsCertAndKey) {
  const auto errors = errors_of(R"(
listen:
  - {address: 127.0.0.1:0, tls: {cert: a.crt}}
  - {address: 127.0.0.1:1, tls: {key: a.key, cert: ""}}
  - {address: 127.0.0.1:2, tls: yes}
  - {address: 127.0.0.1:3, tls: {cert: a, key: b, ciphers: ALL}}
service: {stable: {version: v1}}
)");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "x.yaml: listen[0].tls.key: required (a PEM file)",
                        "x.yaml: listen[1].tls.cert: must name a file",
                        "x.yaml: listen[2].tls: must be a map {cert: FILE, key: FILE}, got yes",
                        "x.yaml: listen[3].tls.ciphers: unknown key",
                    }));
}

TEST(ConfigLoaderTest, EndpointTlsIsRead) {
  const Config c = must_load(std::string(kMinimal) + R"(endpoints:
  - {address: 127.0.0.1:1, tls: {ca: /etc/ssl/ca.pem, server_name: v1.web.svc}}
  - {address: 127.0.0.1:2, tls: {}}
  - {address: 127.0.0.1:3, tls: }
)");
  ASSERT_TRUE(c.endpoints[0].tls.has_value());
  EXPECT_EQ(c.endpoints[0].tls->ca, "/etc/ssl/ca.pem");
  EXPECT_EQ(c.endpoints[0].tls->server_name, "v1.web.svc");
  ASSERT_TRUE(c.endpoints[1].tls.has_value());
  EXPECT_EQ(*c.endpoints[1].tls, EndpointTls{});
  ASSERT_TRUE(c.endpoints[2].tls.has_value());
}

TEST(ConfigLoaderTest, EndpointTlsBadValuesAreErrors) {
  const auto errors = errors_of(std::string(kMinimal) + R"(endpoints:
  - {address: 127.0.0.1:1, tls: {server_name: "bad name"}}
  - {address: 127.0.0.1:2, tls: {verify: false}}
  - {address: 127.0.0.1:3, tls: [a]}
  - {address: 127.0.0.1:4, tls: {ca: ""}}
)");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "x.yaml: endpoints[0].tls.server_name: must be a DNS name such as v1.web.svc, got \"bad name\"",
                        "x.yaml: endpoints[1].tls.verify: unknown key",
                        "x.yaml: endpoints[2].tls: must be a map {ca: FILE, server_name: NAME} (both optional), got a list",
                        "x.yaml: endpoints[3].tls.ca: must name a file",
                    }));
}

TEST(ConfigLoaderTest, MaxEjectedPercentIsRead) {
  EXPECT_EQ(must_load(std::string(kMinimal) + "health: {}\n").health->max_ejected_percent, 50u);
  EXPECT_EQ(must_load(std::string(kMinimal) + "health: {max_ejected_percent: 0}\n").health->max_ejected_percent, 0u);
  EXPECT_EQ(must_load(std::string(kMinimal) + "health: {max_ejected_percent: 100}\n").health->max_ejected_percent,
            100u);
  expect_single_error(std::string(kMinimal) + "health: {max_ejected_percent: 101}\n",
                      "x.yaml: health.max_ejected_percent: ");
  expect_single_error(std::string(kMinimal) + "health: {max_ejected_percent: 12.5}\n",
                      "x.yaml: health.max_ejected_percent: ");
}

TEST(ConfigLoaderTest, MaxConnectionsIsRead) {
  // Left out: the server works it out from RLIMIT_NOFILE. 0 stays "no limit", as it was.
  EXPECT_FALSE(must_load(kMinimal).limits.max_connections.has_value());
  EXPECT_EQ(must_load(std::string(kMinimal) + "limits: {max_connections: 0}\n").limits.max_connections, 0u);
  EXPECT_EQ(must_load(std::string(kMinimal) + "limits: {max_connections: 10}\n").limits.max_connections, 10u);
}

TEST(ConfigLoaderTest, Http2KeysAreRead) {
  const auto plain = must_load(kMinimal);
  EXPECT_FALSE(plain.listen[0].http2);
  EXPECT_EQ(plain.limits.h2_max_concurrent_streams, 128u);
  const std::string text = "listen:\n  - address: 127.0.0.1:0\n    http2: true\n"
                           "service:\n  stable: {version: v1}\nlimits: {h2_max_concurrent_streams: 8}\n";
  const auto h2 = must_load(text);
  EXPECT_TRUE(h2.listen[0].http2);
  EXPECT_EQ(h2.limits.h2_max_concurrent_streams, 8u);
  expect_single_error(std::string(kMinimal) + "limits: {h2_max_concurrent_streams: 0}\n",
                      "x.yaml: limits.h2_max_concurrent_streams:");
}

TEST(ConfigLoaderTest, NegativeMaxConnectionsIsAnError) {
  expect_single_error(std::string(kMinimal) + "limits: {max_connections: -1}\n", "x.yaml: limits.max_connections:");
}

TEST(ConfigLoaderTest, HealthIsAbsentByDefault) { EXPECT_FALSE(must_load(kMinimal).health.has_value()); }

TEST(ConfigLoaderTest, HealthSectionIsRead) {
  const Config c = must_load(std::string(kMinimal) + R"(
health: {path: /healthz, interval: 500ms, timeout: 250ms, healthy_threshold: 1, unhealthy_threshold: 4}
)");
  ASSERT_TRUE(c.health.has_value());
  EXPECT_EQ(c.health->path, "/healthz");
  EXPECT_EQ(c.health->interval, milliseconds(500));
  EXPECT_EQ(c.health->timeout, milliseconds(250));
  EXPECT_EQ(c.health->healthy_threshold, 1u);
  EXPECT_EQ(c.health->unhealthy_threshold, 4u);
}

TEST(ConfigLoaderTest, EmptyHealthSectionProbesWithDefaults) {
  const Config c = must_load(std::string(kMinimal) + "health: {}\n");
  ASSERT_TRUE(c.health.has_value());
  EXPECT_EQ(c.health->path, "/");
  EXPECT_EQ(c.health->interval, milliseconds(2000));
  EXPECT_EQ(c.health->unhealthy_threshold, 3u);
}

TEST(ConfigLoaderTest, HealthPathMustBeAbsolute) {
  expect_single_error(std::string(kMinimal) + "health: {path: healthz}\n", "x.yaml: health.path: must be an absolute path");
}

TEST(ConfigLoaderTest, HealthTimeoutLongerThanIntervalIsAnError) {
  expect_single_error(std::string(kMinimal) + "health: {interval: 1s, timeout: 2s}\n",
                      "x.yaml: health.timeout: must not be longer than health.interval");
}

TEST(ConfigLoaderTest, HealthThresholdZeroIsAnError) {
  expect_single_error(std::string(kMinimal) + "health: {healthy_threshold: 0}\n", "x.yaml: health.healthy_threshold:");
}

TEST(ConfigLoaderTest, HealthUnknownKeyIsAnError) {
  expect_single_error(std::string(kMinimal) + "health: {path: /, port: 81}\n", "x.yaml: health.port: unknown key");
}

// yaml-cpp 0.7's LoadAll never returns on these (its issue #1040); our fuzzer found it.
TEST(ConfigLoaderTest, StrayCommaIsAnErrorNotAnEndlessParse) {
  for (const char* text : {",", ",%", "# a comment\n,en\n"}) {
    const auto errors = errors_of(text);
    ASSERT_EQ(errors.size(), 1u) << text;
    EXPECT_EQ(errors[0], "x.yaml: the configuration is empty; it needs at least listen and service");
  }
}

TEST(ConfigLoaderTest, DuplicateKeyIsAnError) {
  expect_single_error(std::string(kMinimal) + "threads: 1\nthreads: 2\n", "x.yaml: threads: duplicate key");
}

TEST(ConfigLoaderTest, WeightAbove100IsAnError) {
  expect_single_error(
      R"(
listen: [{address: 127.0.0.1:0}]
service: {stable: {version: v1}, canary: {version: v2}, canary_weight: 101}
)",
      "x.yaml: service.canary_weight: must be a number from 0 to 100 with at most two decimals, got 101");
}

TEST(ConfigLoaderTest, WeightWithThreeDecimalsIsAnError) {
  expect_single_error(
      R"(
listen: [{address: 127.0.0.1:0}]
service: {stable: {version: v1}, canary: {version: v2}, canary_weight: 10.125}
)",
      "x.yaml: service.canary_weight: must be a number from 0 to 100 with at most two decimals, got 10.125");
}

TEST(ConfigLoaderTest, WeightGivenAsStringIsAnError) {
  expect_single_error(
      R"(
listen: [{address: 127.0.0.1:0}]
service: {stable: {version: v1}, canary: {version: v2}, canary_weight: "abc"}
)",
      "x.yaml: service.canary_weight: must be a number from 0 to 100 with at most two decimals, got the string "
      "\"abc\"");
}

TEST(ConfigLoaderTest, WeightWithTwoDecimalsIsExact) {
  const Config c = must_load(R"(
listen: [{address: 127.0.0.1:0}]
service: {stable: {version: v1}, canary: {version: v2}, canary_weight: 33.33}
)");
  EXPECT_EQ(c.service.canary_weight, 3333u);
}

TEST(ConfigLoaderTest, OverlappingStableAndCanaryIsAnError) {
  expect_single_error(R"(
listen: [{address: 127.0.0.1:0}]
service:
  selector: {name: nginx}
  stable: {name: nginx}
  canary: version=v2
)",
                      "x.yaml: service.canary: overlaps service.stable (both can match the same endpoints); "
                      "the sets must be disjoint (stable: \"name=nginx\", canary: \"name=nginx,version=v2\")");
}

TEST(ConfigLoaderTest, DisjointStringSelectorsAreAccepted) {
  const Config c = must_load(R"(
listen: [{address: 127.0.0.1:0}]
service: {selector: {name: nginx}, stable: "!version", canary: version=v2, canary_weight: 5}
)");
  EXPECT_EQ(c.stable_selector().to_string(), "name=nginx,!version");
}

TEST(ConfigLoaderTest, StableThatCanNeverMatchIsAnError) {
  expect_single_error(R"(
listen: [{address: 127.0.0.1:0}]
service: {selector: {name: nginx}, stable: {name: apache}}
)",
                      "x.yaml: service.stable: can never match any endpoint");
}

TEST(ConfigLoaderTest, NullCanaryMeansNoCanary) {
  const Config c = must_load(R"(
listen: [{address: 127.0.0.1:0}]
service: {stable: {version: v1}, canary: null, canary_weight: 0}
)");
  EXPECT_FALSE(c.service.canary.has_value());
}

TEST(ConfigLoaderTest, CanaryWeightWithoutCanaryIsAnError) {
  expect_single_error(R"(
listen: [{address: 127.0.0.1:0}]
service: {stable: {version: v1}, canary_weight: 10}
)",
                      "x.yaml: service.canary_weight: is 10 but service.canary is not set");
}

TEST(ConfigLoaderTest, BadSelectorSyntaxIsAnError) {
  expect_single_error(R"(
listen: [{address: 127.0.0.1:0}]
service: {stable: "version in v1"}
)",
                      "x.yaml: service.stable: invalid selector \"version in v1\": expected '(' after 'in'");
}

TEST(ConfigLoaderTest, UnquotedBangSelectorIsAnErrorNotATag) {
  // YAML reads `!version` as a tag on an empty value; taken as "" it would select every endpoint.
  EXPECT_EQ(
      errors_of(R"(
listen: [{address: 127.0.0.1:0}]
service: {stable: !version, canary: version=v2}
)"),
      std::vector<std::string>{
          "x.yaml: service.stable: YAML reads \"!version\" as a tag, not as text; quote the value: \"!version\""});
}

TEST(ConfigLoaderTest, SelectorOfWrongTypeIsAnError) {
  expect_single_error(R"(
listen: [{address: 127.0.0.1:0}]
service: {stable: [version, v1]}
)",
                      "x.yaml: service.stable: must be a label map such as {version: v1} or a selector string");
}

TEST(ConfigLoaderTest, BadDurationIsAnError) {
  EXPECT_EQ(errors_of(std::string(kMinimal) + "timeouts: {connect: soon}\n"),
            std::vector<std::string>{"x.yaml: timeouts.connect: invalid duration \"soon\" (use e.g. 250ms, 2s, 1m)"});
}

TEST(ConfigLoaderTest, ZeroTimeoutIsAnErrorExceptDrain) {
  expect_single_error(std::string(kMinimal) + "timeouts: {upstream: 0s, drain: 0s}\n",
                      "x.yaml: timeouts.upstream: must be greater than 0, got 0s");
  // A silent tunnel closed at once would make every WebSocket fail.
  expect_single_error(std::string(kMinimal) + "timeouts: {tunnel_idle: 0s}\n",
                      "x.yaml: timeouts.tunnel_idle: must be greater than 0, got 0s");
}

TEST(ConfigLoaderTest, BadEndpointAddressIsAnError) {
  expect_single_error(std::string(kMinimal) + R"(
endpoints:
  - {address: 127.0.0.1:18081}
  - {address: localhost}
)",
                      "x.yaml: endpoints[1].address: invalid address \"localhost\": expected host:port");
}

TEST(ConfigLoaderTest, BadPortIsAnError) {
  expect_single_error(std::string(kMinimal) + "endpoints: [{address: 127.0.0.1:70000}]\n",
                      "x.yaml: endpoints[0].address: invalid address \"127.0.0.1:70000\": port 70000 is out of range");
}

TEST(ConfigLoaderTest, EndpointPortZeroIsAnError) {
  expect_single_error(
      std::string(kMinimal) + "endpoints: [{address: 127.0.0.1:0}]\n",
      "x.yaml: endpoints[0].address: invalid address \"127.0.0.1:0\": port 0 is out of range (1 to 65535)");
}

TEST(ConfigLoaderTest, EndpointWithoutAddressIsAnError) {
  expect_single_error(std::string(kMinimal) + "endpoints: [{labels: {version: v1}}]\n",
                      "x.yaml: endpoints[0].address: required");
}

TEST(ConfigLoaderTest, MissingListenIsAnError) {
  EXPECT_EQ(errors_of("service: {stable: {version: v1}}\n"),
            std::vector<std::string>{"x.yaml: listen: required (a list of {address: host:port})"});
}

TEST(ConfigLoaderTest, EmptyListenIsAnError) {
  expect_single_error("listen: []\nservice: {stable: {version: v1}}\n", "x.yaml: listen: must have at least one entry");
}

TEST(ConfigLoaderTest, ListenThatIsNotAListIsAnError) {
  expect_single_error("listen: 0.0.0.0:80\nservice: {stable: {version: v1}}\n",
                      "x.yaml: listen: must be a list of {address: host:port}, got 0.0.0.0:80");
}

TEST(ConfigLoaderTest, DuplicateListenAddressIsAnError) {
  expect_single_error("listen: [{address: 127.0.0.1:8080}, {address: 127.0.0.1:8080}]\nservice: {stable: {v: a}}\n",
                      "x.yaml: listen[1].address: duplicate of listen[0].address (127.0.0.1:8080)");
}

TEST(ConfigLoaderTest, ControlAddressOnAListenerIsAnError) {
  expect_single_error("listen: [{address: 127.0.0.1:9901}]\nservice: {stable: {v: a}}\n",
                      "x.yaml: control.address: same address as listen[0].address (127.0.0.1:9901)");
}

TEST(ConfigLoaderTest, MissingServiceIsAnError) {
  expect_single_error("listen: [{address: 127.0.0.1:0}]\n", "x.yaml: service: required");
}

TEST(ConfigLoaderTest, MissingStableIsAnError) {
  expect_single_error("listen: [{address: 127.0.0.1:0}]\nservice: {selector: {name: nginx}}\n",
                      "x.yaml: service.stable: required");
}

TEST(ConfigLoaderTest, DuplicateEndpointIsAnError) {
  expect_single_error(std::string(kMinimal) + R"(
endpoints:
  - {address: 127.0.0.1:18081, labels: {version: v1}}
  - {address: 127.0.0.1:18082, labels: {version: v1}}
  - {address: 127.0.0.1:18081, labels: {version: v2}}
)",
                      "x.yaml: endpoints[2].address: duplicate of endpoints[0].address (127.0.0.1:18081)");
}

TEST(ConfigLoaderTest, DuplicateEndpointIsFoundAcrossSpellings) {
  expect_single_error(std::string(kMinimal) + "endpoints: [{address: \"[::1]:80\"}, {address: \"[0:0::1]:80\"}]\n",
                      "x.yaml: endpoints[1].address: duplicate of endpoints[0].address");
}

TEST(ConfigLoaderTest, BadLabelKeyIsAnError) {
  expect_single_error(std::string(kMinimal) + "endpoints: [{address: 127.0.0.1:1, labels: {-version: v1}}]\n",
                      "x.yaml: endpoints[0].labels: invalid label key \"-version\"");
}

TEST(ConfigLoaderTest, BadLabelValueIsAnError) {
  expect_single_error(std::string(kMinimal) + "endpoints: [{address: 127.0.0.1:1, labels: {version: \"v 1\"}}]\n",
                      "x.yaml: endpoints[0].labels.version: invalid label value \"v 1\"");
}

TEST(ConfigLoaderTest, NullLabelValueIsAnError) {
  expect_single_error(std::string(kMinimal) + "endpoints: [{address: 127.0.0.1:1, labels: {version: }}]\n",
                      "x.yaml: endpoints[0].labels.version: must be a label value");
}

TEST(ConfigLoaderTest, WrongTypeIsAnError) {
  expect_single_error(std::string(kMinimal) + "threads: [1]\n",
                      "x.yaml: threads: must be an integer from 0 to 256, got a list");
}

TEST(ConfigLoaderTest, QuotedIntegerIsAnError) {
  expect_single_error(std::string(kMinimal) + "threads: \"4\"\n",
                      "x.yaml: threads: must be an integer from 0 to 256, got the string \"4\"");
}

TEST(ConfigLoaderTest, FractionalIntegerIsAnError) {
  expect_single_error(std::string(kMinimal) + "routing: {retries: 1.5}\n",
                      "x.yaml: routing.retries: must be an integer from 0 to 10, got 1.5");
}

TEST(ConfigLoaderTest, SectionOfWrongTypeIsAnError) {
  expect_single_error(std::string(kMinimal) + "timeouts: 2s\n", "x.yaml: timeouts: must be a map of durations, got 2s");
}

TEST(ConfigLoaderTest, HistoryLimitZeroIsAnError) {
  expect_single_error(std::string(kMinimal) + "history_limit: 0\n",
                      "x.yaml: history_limit: must be an integer from 1 to 1000, got 0");
}

TEST(ConfigLoaderTest, TooManyThreadsIsAnError) {
  expect_single_error(std::string(kMinimal) + "threads: 257\n",
                      "x.yaml: threads: must be an integer from 0 to 256, got 257");
}

TEST(ConfigLoaderTest, NegativeIntegerIsAnError) {
  expect_single_error(std::string(kMinimal) + "limits: {max_body_bytes: -1}\n",
                      "x.yaml: limits.max_body_bytes: must be an integer >= 0, got -1");
}

TEST(ConfigLoaderTest, RetriesAbove10IsAnError) {
  expect_single_error(std::string(kMinimal) + "routing: {retries: 11}\n",
                      "x.yaml: routing.retries: must be an integer from 0 to 10, got 11");
}

TEST(ConfigLoaderTest, HeaderLimitOutOfRangeIsAnError) {
  expect_single_error(std::string(kMinimal) + "limits: {max_header_bytes: 512}\n",
                      "x.yaml: limits.max_header_bytes: must be an integer from 1024 to 1048576, got 512");
}

TEST(ConfigLoaderTest, InvalidHeaderNameIsAnError) {
  expect_single_error(std::string(kMinimal) + "routing: {override_header: \"X Canary\"}\n",
                      "x.yaml: routing.override_header: must be an HTTP header name");
}

TEST(ConfigLoaderTest, EmptyHeaderNameDisablesTheHeader) {
  const Config c = must_load(std::string(kMinimal) + "routing: {override_header: \"\", response_header: \"\"}\n");
  EXPECT_EQ(c.routing.override_header, "");
  EXPECT_EQ(c.routing.response_header, "");
}

TEST(ConfigLoaderTest, EmptyStateFileIsAnError) {
  expect_single_error(std::string(kMinimal) + "state_file: \"\"\n", "x.yaml: state_file: must not be empty");
}

TEST(ConfigLoaderTest, YamlSyntaxErrorGivesLineAndColumn) {
  const auto errors = errors_of("listen:\n  - address: 127.0.0.1:0\nservice: {stable: [v1\n");
  ASSERT_EQ(errors.size(), 1u) << join(errors);
  EXPECT_EQ(errors[0].rfind("x.yaml: line 4, column 1: ", 0), 0u) << errors[0];
}

TEST(ConfigLoaderTest, EmptyDocumentIsAnError) {
  EXPECT_EQ(errors_of(""),
            std::vector<std::string>{"x.yaml: the configuration is empty; it needs at least listen and service"});
  EXPECT_EQ(errors_of("# only a comment\n").size(), 1u);
}

TEST(ConfigLoaderTest, TopLevelListIsAnError) {
  expect_single_error("- a\n- b\n", "x.yaml: the top level must be a map of settings, got a list");
}

TEST(ConfigLoaderTest, SeveralDocumentsAreAnError) {
  expect_single_error(std::string(kMinimal) + "---\nthreads: 1\n", "x.yaml: more than one YAML document");
}

TEST(ConfigLoaderTest, EveryErrorIsReportedNotOnlyTheFirst) {
  const auto errors = errors_of(R"(
listen:
  - address: "::1:80"
threads: many
typo: 1
endpoints:
  - {address: 127.0.0.1:18081, labels: {version: v1}}
  - {address: 127.0.0.1:18081, labels: {version: "v 2"}}
service:
  stable: {version: v1}
  canary: {version: v1}
  canary_weight: 10.125
timeouts: {connect: soon, drain: -1s}
limits: {max_header_bytes: 1}
)");
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "x.yaml: listen[0].address: invalid address \"::1:80\": an IPv6 address must be in brackets, "
                        "e.g. [::1]:8080",
                        "x.yaml: threads: must be an integer from 0 to 256, got many",
                        "x.yaml: typo: unknown key",
                        "x.yaml: endpoints[1].labels.version: invalid label value \"v 2\": must be at most 63 "
                        "characters of [A-Za-z0-9._-], starting and ending with a letter or digit",
                        "x.yaml: service.canary_weight: must be a number from 0 to 100 with at most two decimals, got "
                        "10.125",
                        "x.yaml: service.canary: overlaps service.stable (both can match the same endpoints); the "
                        "sets must be disjoint (stable: \"version=v1\", canary: \"version=v1\")",
                        "x.yaml: timeouts.connect: invalid duration \"soon\" (use e.g. 250ms, 2s, 1m)",
                        "x.yaml: timeouts.drain: invalid duration \"-1s\" (use e.g. 250ms, 2s, 1m)",
                        "x.yaml: limits.max_header_bytes: must be an integer from 1024 to 1048576, got 1",
                    }))
      << join(errors);
}

TEST(ConfigLoaderTest, NonLoopbackControlNeedsATokenOrAnExplicitOptOut) {
  expect_single_error(std::string(kMinimal) + "control: {address: \"0.0.0.0:9901\"}\n",
                      "x.yaml: control.address: 0.0.0.0:9901 is not a loopback address: set control.token_file, or "
                      "control.allow_unauthenticated: true");
  expect_single_error(std::string(kMinimal) + "control: {address: \"[::]:9901\"}\n", "x.yaml: control.address: ");
  expect_single_error(std::string(kMinimal) + "control: {address: \"canaryd.example:9901\"}\n",
                      "x.yaml: control.address: ");
  expect_single_error(std::string(kMinimal) + "control: {address: \"127.0.0.1:9901\", allow_unauthenticated: yes}\n",
                      "x.yaml: control.allow_unauthenticated: must be true or false");
  EXPECT_TRUE(must_load(std::string(kMinimal) + "control: {address: \"0.0.0.0:9901\", token_file: /t}\n")
                  .control.token_file == "/t");
  EXPECT_TRUE(must_load(std::string(kMinimal) + "control: {address: \"0.0.0.0:9901\", allow_unauthenticated: true}\n")
                  .control.allow_unauthenticated);
  for (const char* loopback : {"127.0.0.1:9901", "127.9.9.9:9901", "\"[::1]:9901\"", "localhost:9901",
                               "\"[::ffff:127.0.0.1]:9901\""}) {
    const Config c = must_load(std::string(kMinimal) + "control: {address: " + loopback + "}\n");
    EXPECT_FALSE(c.control.allow_unauthenticated) << loopback;
  }
}

TEST(ConfigLoaderTest, ErrorsProduceNoConfig) {
  const LoadResult r = load_config_text(std::string(kMinimal) + "threads: -1\n", "x.yaml");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error().size(), 1u);
}

TEST(ConfigLoaderTest, MissingFileReportsTheSystemError) {
  const LoadResult r = load_config_file("/nonexistent-canaryd-dir/canaryd.yaml");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(),
            std::vector<std::string>{"/nonexistent-canaryd-dir/canaryd.yaml: cannot read: No such file or directory"});
}

TEST(ConfigLoaderTest, DirectoryInsteadOfFileIsAnError) {
  const LoadResult r = load_config_file("/");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.error().size(), 1u);
  EXPECT_EQ(r.error()[0], "/: cannot read: Is a directory");
}

}  // namespace
}  // namespace canaryd::config
