// Builds /metrics from the workers' counters, the snapshot and discovery (see metrics_exporter.hpp).
#include "proxy/control/metrics_exporter.hpp"

#include <limits>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include "proxy/control/process_stats.hpp"
#include "proxy/dataplane/worker.hpp"
#include "proxy/net/io_backend.hpp"

#ifndef CANARYD_VERSION
#define CANARYD_VERSION "0.0.0"
#endif

namespace canaryd::proxy {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

ClientMetric labelled(std::vector<ClientMetric::Label> labels) {
  ClientMetric m;
  m.label = std::move(labels);
  return m;
}

using Workers = std::vector<std::unique_ptr<Worker>>;

/// canaryd_requests_total (by set, status class and protocol) and canaryd_request_duration_seconds (by set).
void add_requests(const Workers& workers, std::vector<MetricFamily>& families) {
  MetricFamily requests{"canaryd_requests_total",
                        "Requests answered, by the set that served them, status class and the client's protocol",
                        MetricType::Counter, {}};
  MetricFamily duration{"canaryd_request_duration_seconds", "Time from a complete request header to the end of the response",
                        MetricType::Histogram, {}};
  for (std::size_t set = 0; set < kSetNames.size(); ++set) {
    for (std::size_t cls = 0; cls < kCodeClassNames.size(); ++cls) {
      for (std::size_t protocol = 0; protocol < kProtocolNames.size(); ++protocol) {
        std::uint64_t n = 0;
        for (const auto& w : workers) n += w->metrics().requests(protocol, set, cls);
        auto m = labelled({{"code", kCodeClassNames[cls]}, {"protocol", kProtocolNames[protocol]}, {"set", kSetNames[set]}});
        m.counter.value = static_cast<double>(n);
        requests.metric.push_back(std::move(m));
      }
    }
    auto h = labelled({{"set", kSetNames[set]}});
    std::uint64_t cumulative = 0;
    std::uint64_t sum_us = 0;
    for (std::size_t b = 0; b <= kDurationBuckets.size(); ++b) {
      for (const auto& w : workers) cumulative += w->metrics().bucket(set, b);
      double bound = b < kDurationBuckets.size() ? kDurationBuckets[b] : std::numeric_limits<double>::infinity();
      h.histogram.bucket.push_back({cumulative, bound});
    }
    for (const auto& w : workers) sum_us += w->metrics().duration_us(set);
    h.histogram.sample_count = cumulative;
    h.histogram.sample_sum = static_cast<double>(sum_us) / 1e6;
    duration.metric.push_back(std::move(h));
  }
  families.push_back(std::move(requests));
  families.push_back(std::move(duration));
}

/// canaryd_upstream_errors_total and canaryd_fallback_total.
void add_failures(const Workers& workers, std::vector<MetricFamily>& families) {
  MetricFamily errors{"canaryd_upstream_errors_total", "Upstream failures by set and kind", MetricType::Counter, {}};
  MetricFamily fallback{"canaryd_fallback_total", "Requests served by the other set because theirs had no healthy endpoint",
                        MetricType::Counter, {}};
  for (std::size_t set = 0; set < 2; ++set) {
    for (std::size_t kind = 0; kind < kUpstreamErrorNames.size(); ++kind) {
      std::uint64_t n = 0;
      for (const auto& w : workers) n += w->metrics().upstream_errors(set, kind);
      auto m = labelled({{"kind", kUpstreamErrorNames[kind]}, {"set", kSetNames[set]}});
      m.counter.value = static_cast<double>(n);
      errors.metric.push_back(std::move(m));
    }
    std::uint64_t n = 0;
    for (const auto& w : workers) n += w->metrics().fallbacks(set);
    auto m = labelled({{"from", kSetNames[set]}});
    m.counter.value = static_cast<double>(n);
    fallback.metric.push_back(std::move(m));
  }
  families.push_back(std::move(errors));
  families.push_back(std::move(fallback));
}

/// canaryd_routing_decisions_total{set, reason}: which rule chose the set of each routed request
/// (contract section 8), so that override-placed requests are counted apart from weight and affinity.
void add_decisions(const Workers& workers, std::vector<MetricFamily>& families) {
  MetricFamily decisions{"canaryd_routing_decisions_total",
                         "Routed requests by the set chosen and the rule that chose it", MetricType::Counter, {}};
  for (std::size_t set = 0; set < kSetNames.size(); ++set) {
    for (std::size_t reason = 0; reason < kRouteReasons; ++reason) {
      std::uint64_t n = 0;
      for (const auto& w : workers) n += w->metrics().decisions(set, reason);
      const char* name = weights::reason_name(static_cast<weights::RouteReason>(reason));
      auto m = labelled({{"reason", name}, {"set", kSetNames[set]}});
      m.counter.value = static_cast<double>(n);
      decisions.metric.push_back(std::move(m));
    }
  }
  families.push_back(std::move(decisions));
}

/// A family of one unlabelled gauge or counter.
MetricFamily single(std::string name, std::string help, MetricType type, double value) {
  MetricFamily f{std::move(name), std::move(help), type, {}};
  f.metric.push_back(ClientMetric{});
  if (type == MetricType::Counter) {
    f.metric.back().counter.value = value;
  } else {
    f.metric.back().gauge.value = value;
  }
  return f;
}

/// The routing state in force: weight, revision, endpoints by set and health.
void add_routing(const RoutingSnapshot& snapshot, std::vector<MetricFamily>& families) {
  families.push_back(single("canaryd_canary_weight_percent", "Share of requests routed to the canary set, in percent",
                            MetricType::Gauge, static_cast<double>(snapshot.canary_weight) / 100.0));
  families.push_back(single("canaryd_revision", "Revision of the routing state in force", MetricType::Gauge,
                            static_cast<double>(snapshot.revision)));
  MetricFamily endpoints{"canaryd_endpoints", "Endpoints per set and health", MetricType::Gauge, {}};
  for (std::size_t set = 0; set < 2; ++set) {
    std::size_t healthy = 0;
    for (const auto& ep : snapshot.sets[set]) healthy += ep.healthy ? 1 : 0;
    auto h = labelled({{"health", "healthy"}, {"set", kSetNames[set]}});
    h.gauge.value = static_cast<double>(healthy);
    auto u = labelled({{"health", "unhealthy"}, {"set", kSetNames[set]}});
    u.gauge.value = static_cast<double>(snapshot.sets[set].size() - healthy);
    endpoints.metric.push_back(std::move(h));
    endpoints.metric.push_back(std::move(u));
  }
  families.push_back(std::move(endpoints));
}

void add_connections(const Workers& workers, std::vector<MetricFamily>& families) {
  MetricFamily connections{"canaryd_active_connections", "Open connections by side", MetricType::Gauge, {}};
  std::int64_t client = 0, upstream = 0;
  for (const auto& w : workers) {
    client += w->metrics().client_connections();
    upstream += w->metrics().upstream_connections();
  }
  auto c = labelled({{"side", "client"}});
  c.gauge.value = static_cast<double>(client);
  auto u = labelled({{"side", "upstream"}});
  u.gauge.value = static_cast<double>(upstream);
  connections.metric.push_back(std::move(c));
  connections.metric.push_back(std::move(u));
  families.push_back(std::move(connections));
}

/// canaryd_tunnels_active{set} and canaryd_tunnels_total{set}: WebSocket tunnels open now and started,
/// for stable and canary from the start.
void add_tunnels(const Workers& workers, std::vector<MetricFamily>& families) {
  MetricFamily active{"canaryd_tunnels_active", "WebSocket tunnels open now, by the set that serves them",
                      MetricType::Gauge, {}};
  MetricFamily total{"canaryd_tunnels_total", "WebSocket tunnels started, by the set that serves them",
                     MetricType::Counter, {}};
  for (std::size_t set = 0; set < 2; ++set) {
    std::int64_t open = 0;
    std::uint64_t started = 0;
    for (const auto& w : workers) {
      open += w->metrics().tunnels_active(set);
      started += w->metrics().tunnels_total(set);
    }
    auto a = labelled({{"set", kSetNames[set]}});
    a.gauge.value = static_cast<double>(open);
    active.metric.push_back(std::move(a));
    auto t = labelled({{"set", kSetNames[set]}});
    t.counter.value = static_cast<double>(started);
    total.metric.push_back(std::move(t));
  }
  families.push_back(std::move(active));
  families.push_back(std::move(total));
}

void add_discovery(const DiscoveryMetrics& discovery, std::vector<MetricFamily>& families) {
  families.push_back(single("canaryd_kubernetes_api_reachable",
                            "1 while the Kubernetes API server answers; 0 while canaryd serves the last known pods",
                            MetricType::Gauge, discovery.api_reachable ? 1 : 0));
  families.push_back(single("canaryd_kubernetes_pod_lists_total", "Pod lists: the first one and every relist (410 Gone)",
                            MetricType::Counter, static_cast<double>(discovery.lists)));
}

/// canaryd_rollout_phase{phase} (one series per phase, 1 for the current one), canaryd_rollout_step and
/// canaryd_rollout_aborts_total.
void add_rollout(const RolloutMetrics& rollout, std::vector<MetricFamily>& families) {
  MetricFamily phase{"canaryd_rollout_phase", "The rollout's phase: 1 for the current one, 0 for the others",
                     MetricType::Gauge, {}};
  for (const std::string_view name : kRolloutPhaseNames) {
    auto m = labelled({{"phase", std::string(name)}});
    m.gauge.value = name == rollout.phase ? 1 : 0;
    phase.metric.push_back(std::move(m));
  }
  families.push_back(std::move(phase));
  families.push_back(single("canaryd_rollout_step", "The rollout's step in force, counted from 1; 0 without a rollout",
                            MetricType::Gauge, static_cast<double>(rollout.step)));
  families.push_back(single("canaryd_rollout_aborts_total", "Rollouts this process aborted since it started",
                            MetricType::Counter, static_cast<double>(rollout.aborts)));
}

/// canaryd_build_info{version} and canaryd_io_backend_info{backend}: always 1; the labels say which
/// build answers (the backend is a build option, docs/io_uring.md).
void add_build_info(std::vector<MetricFamily>& families) {
  MetricFamily info{"canaryd_build_info", "The running canaryd's version (the value is always 1)", MetricType::Gauge, {}};
  auto m = labelled({{"version", CANARYD_VERSION}});
  m.gauge.value = 1;
  info.metric.push_back(std::move(m));
  families.push_back(std::move(info));
  MetricFamily backend{"canaryd_io_backend_info", "The event backend this canaryd was built with: epoll or io_uring "
                       "(the value is always 1)", MetricType::Gauge, {}};
  auto b = labelled({{"backend", std::string(kIoBackend)}});
  b.gauge.value = 1;
  backend.metric.push_back(std::move(b));
  families.push_back(std::move(backend));
}

/// canaryd_set_info, canaryd_last_change_timestamp_seconds and canaryd_config_reloads_total{result}.
void add_state(const StateMetrics& state, std::vector<MetricFamily>& families) {
  MetricFamily info{"canaryd_set_info",
                    "The pods each set serves now, as a label selector (the value is always 1): join on set",
                    MetricType::Gauge, {}};
  for (const auto& s : state.sets) {
    auto m = labelled({{"selector", s.selector}, {"set", s.set}});
    m.gauge.value = 1;
    info.metric.push_back(std::move(m));
  }
  families.push_back(std::move(info));
  families.push_back(single("canaryd_last_change_timestamp_seconds",
                            "When the routing state in force was made (its revision's time), seconds since the epoch",
                            MetricType::Gauge, state.last_change_seconds));
  MetricFamily reloads{"canaryd_config_reloads_total", "SIGHUP reloads: applied (success) or refused (failure)",
                       MetricType::Counter, {}};
  auto ok = labelled({{"result", "success"}});
  ok.counter.value = static_cast<double>(state.reloads.success);
  auto failed = labelled({{"result", "failure"}});
  failed.counter.value = static_cast<double>(state.reloads.failure);
  reloads.metric.push_back(std::move(ok));
  reloads.metric.push_back(std::move(failed));
  families.push_back(std::move(reloads));
}

/// The process_* families under the names Prometheus client libraries give them.
void add_process(const ProcessStats& p, std::vector<MetricFamily>& families) {
  families.push_back(single("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                            MetricType::Counter, p.cpu_seconds));
  families.push_back(single("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
                            p.resident_bytes));
  families.push_back(single("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
                            p.virtual_bytes));
  families.push_back(single("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, p.open_fds));
  families.push_back(single("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
                            p.max_fds));
  families.push_back(single("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                            MetricType::Gauge, p.start_time_seconds));
}

/// canaryd_access_log_dropped_total: access log lines lost (the writer fell behind, or the file refused
/// them); zero from start, also while the access log is off.
void add_access_log(std::uint64_t dropped, std::vector<MetricFamily>& families) {
  MetricFamily family{"canaryd_access_log_dropped_total",
                      "Access log lines dropped because the writer fell behind or the file refused them",
                      MetricType::Counter, {}};
  ClientMetric m;
  m.counter.value = static_cast<double>(dropped);
  family.metric.push_back(std::move(m));
  families.push_back(std::move(family));
}

}  // namespace

std::string render_metrics(const std::vector<std::unique_ptr<Worker>>& workers, const RoutingSnapshot& snapshot,
                           const RolloutMetrics& rollout, const DiscoveryMetrics* discovery,
                           const StateMetrics& state, std::uint64_t access_log_dropped) {
  std::vector<MetricFamily> families;
  add_requests(workers, families);
  add_failures(workers, families);
  add_decisions(workers, families);
  add_routing(snapshot, families);
  add_connections(workers, families);
  add_tunnels(workers, families);
  if (discovery) add_discovery(*discovery, families);
  add_rollout(rollout, families);
  add_build_info(families);
  add_state(state, families);
  add_process(read_process_stats(), families);
  add_access_log(access_log_dropped, families);
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace canaryd::proxy
