// build_snapshot: runs on the main thread for every change (reload, health change, a change of the sets),
// never per request. Endpoints per set: 4 and 1,000 (issue 5), half stable (v1), half canary (v2), IP
// literals (no DNS). BM_BuildSnapshot keeps one EndpointRegistry across builds, as the process does; BM_*FreshRegistry
// starts each build with an empty one (the first build after start-up).
// A publication (issue 15), in its halves. Main thread: BM_PublishBuild is what Server::make_snapshot
// does (the build, each endpoint's health asked of a HealthChecker probing all of them and of the passive
// ejection); BM_PublishWeightChange what a weight change that keeps the sets does instead; BM_PublishPost
// the post to one running worker. Each worker, on its own thread: BM_PublishAdopt (Worker::adopt_snapshot:
// swap, pool limits, idle connections of departed endpoints closed, the old snapshot freed, as the last
// worker to let go of it does).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "config/config.hpp"
#include "proxy/control/health_checker.hpp"
#include "proxy/control/passive_ejection.hpp"
#include "proxy/dataplane/access_log_buffers.hpp"
#include "proxy/dataplane/routing_snapshot.hpp"
#include "proxy/dataplane/worker.hpp"
#include "weights/routing_state.hpp"

namespace {
using namespace canaryd;

config::Config make_config(int per_set) {
  config::Config cfg;
  cfg.service.selector = config::Selector::from_labels({{"name", "nginx"}});
  cfg.service.stable = config::Selector::from_labels({{"version", "v1"}});
  cfg.service.canary = config::Selector::from_labels({{"version", "v2"}});
  for (int v = 1; v <= 2; ++v) {
    for (int i = 0; i < per_set; ++i) {
      config::Endpoint ep;
      int n = (v - 1) * per_set + i;
      ep.address.host = "10." + std::to_string(v) + "." + std::to_string(n / 250) + "." + std::to_string(n % 250 + 1);
      ep.address.port = 8080;
      ep.labels = {{"name", "nginx"}, {"version", "v" + std::to_string(v)}, {"pod-template-hash", "7d9f8c6b5d"},
                   {"zone", i % 2 ? "eu-west-1a" : "eu-west-1b"}};
      cfg.endpoints.push_back(std::move(ep));
    }
  }
  return cfg;
}

weights::RoutingState make_state() {
  weights::RoutingState state;
  state.stable = config::Selector::from_labels({{"version", "v1"}});
  state.canary = config::Selector::from_labels({{"version", "v2"}});
  state.canary_weight = 1000;
  return state;
}

bool check(benchmark::State& st, const proxy::RoutingSnapshot& snap, int per_set,
           const std::vector<std::string>& problems) {
  if (!problems.empty() || snap.sets[0].size() != static_cast<std::size_t>(per_set) ||
      snap.sets[1].size() != static_cast<std::size_t>(per_set)) {
    st.SkipWithError(problems.empty() ? "wrong set sizes" : problems.front().c_str());
    return false;
  }
  return true;
}

void BM_BuildSnapshot(benchmark::State& st) {
  const int per_set = static_cast<int>(st.range(0));
  const auto cfg = make_config(per_set);
  const auto state = make_state();
  proxy::EndpointRegistry registry;
  std::vector<std::string> problems;
  if (!check(st, *proxy::build_snapshot(cfg, state, registry, problems), per_set, problems)) return;
  for (auto _ : st) {
    auto snap = proxy::build_snapshot(cfg, state, registry, problems);
    benchmark::DoNotOptimize(snap);
  }
  st.counters["endpoints"] = 2.0 * per_set;
  st.counters["per_endpoint"] = benchmark::Counter(static_cast<double>(st.iterations()) * 2 * per_set,
                                                   benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_BuildSnapshot)->Arg(4)->Arg(1000)->Unit(benchmark::kMicrosecond);

void BM_BuildSnapshotFreshRegistry(benchmark::State& st) {
  const int per_set = static_cast<int>(st.range(0));
  const auto cfg = make_config(per_set);
  const auto state = make_state();
  std::vector<std::string> problems;
  for (auto _ : st) {
    proxy::EndpointRegistry registry;
    auto snap = proxy::build_snapshot(cfg, state, registry, problems);
    benchmark::DoNotOptimize(snap);
  }
  if (!problems.empty()) st.SkipWithError(problems.front().c_str());
}
BENCHMARK(BM_BuildSnapshotFreshRegistry)->Arg(4)->Arg(1000)->Unit(benchmark::kMicrosecond);

// The health lookups of Server::is_healthy, with `health:` configured: every endpoint has a probe (its
// io_context never runs, so each stays at its first health) and nobody is ejected.
struct HealthView {
  boost::asio::io_context io;
  proxy::HealthChecker health{io, {}};
  proxy::PassiveEjection ejection;

  explicit HealthView(const config::Config& cfg) {
    health.configure(cfg.health, cfg.endpoints);
    ejection.configure(cfg.health->ejection_time, cfg.health->max_ejected_percent);
  }
  std::function<bool(const std::string&)> is_healthy() const {
    return [this](const std::string& a) { return health.healthy(a) && !ejection.ejected(a); };
  }
};

void BM_PublishBuild(benchmark::State& st) {
  const int per_set = static_cast<int>(st.range(0));
  auto cfg = make_config(per_set);
  cfg.health = config::HealthCheck{};
  const auto state = make_state();
  const HealthView view(cfg);
  const auto is_healthy = view.is_healthy();
  proxy::EndpointRegistry registry;
  std::vector<std::string> problems;
  if (!check(st, *proxy::build_snapshot(cfg, state, registry, problems, is_healthy), per_set, problems)) return;
  for (auto _ : st) {
    auto snap = proxy::build_snapshot(cfg, state, registry, problems, is_healthy);
    benchmark::DoNotOptimize(snap);
  }
}
BENCHMARK(BM_PublishBuild)->Arg(4)->Arg(1000)->Unit(benchmark::kMicrosecond);

// What Server::publish_routing_state does instead when a weight change keeps the sets (the common case):
// the previous snapshot copied, its routing-state fields rewritten.
void BM_PublishWeightChange(benchmark::State& st) {
  const int per_set = static_cast<int>(st.range(0));
  auto cfg = make_config(per_set);
  cfg.health = config::HealthCheck{};
  auto state = make_state();
  const HealthView view(cfg);
  proxy::EndpointRegistry registry;
  std::vector<std::string> problems;
  std::shared_ptr<const proxy::RoutingSnapshot> snap =
      proxy::build_snapshot(cfg, state, registry, problems, view.is_healthy());
  if (!check(st, *snap, per_set, problems)) return;
  for (auto _ : st) {
    state.canary_weight = state.canary_weight == 1000 ? 1001 : 1000;
    ++state.revision;
    snap = proxy::with_routing_state(*snap, state);
    benchmark::DoNotOptimize(snap);
  }
}
BENCHMARK(BM_PublishWeightChange)->Arg(4)->Arg(1000)->Unit(benchmark::kMicrosecond);

// A worker that never starts: adopt_snapshot runs on this thread, as it would on the worker's.
struct IdleWorker {
  std::atomic<std::int64_t> open{0};
  std::atomic<std::uint32_t> wake{0};
  proxy::AccessLogBuffers log{wake};
  proxy::Worker worker;

  explicit IdleWorker(std::shared_ptr<const proxy::RoutingSnapshot> first) : worker(std::move(first), open, log) {}
};

void BM_PublishAdopt(benchmark::State& st) {
  const int per_set = static_cast<int>(st.range(0));
  const auto cfg = make_config(per_set);
  const auto state = make_state();
  proxy::EndpointRegistry registry;
  std::vector<std::string> problems;
  auto first = proxy::build_snapshot(cfg, state, registry, problems);
  if (!check(st, *first, per_set, problems)) return;
  IdleWorker w(std::move(first));
  // Built ahead in batches, untimed: each adoption drops the last reference to the one before.
  constexpr benchmark::IterationCount kBatch = 64;
  std::vector<std::shared_ptr<const proxy::RoutingSnapshot>> next;
  while (st.KeepRunningBatch(kBatch)) {
    st.PauseTiming();
    next.clear();
    for (benchmark::IterationCount i = 0; i < kBatch; ++i)
      next.push_back(proxy::build_snapshot(cfg, state, registry, problems));
    st.ResumeTiming();
    for (auto& snap : next) w.worker.adopt_snapshot(std::move(snap));
  }
}
BENCHMARK(BM_PublishAdopt)->Arg(4)->Arg(1000)->Unit(benchmark::kMicrosecond);

void BM_PublishPost(benchmark::State& st) {
  const int per_set = static_cast<int>(st.range(0));
  const auto cfg = make_config(per_set);
  const auto state = make_state();
  proxy::EndpointRegistry registry;
  std::vector<std::string> problems;
  std::shared_ptr<const proxy::RoutingSnapshot> snap = proxy::build_snapshot(cfg, state, registry, problems);
  if (!check(st, *snap, per_set, problems)) return;
  IdleWorker w(snap);
  w.worker.start({});
  // The same snapshot each time: the worker adopts on its own thread meanwhile, and nothing is freed.
  for (auto _ : st) w.worker.publish(snap);
  w.worker.stop();
  w.worker.join();
}
BENCHMARK(BM_PublishPost)->Arg(4)->Arg(1000)->Unit(benchmark::kMicrosecond);

}  // namespace
