// build_snapshot: runs on the main thread for every change (API call, reload, health change), never per
// request. Endpoints per set: 4 and 1,000 (issue 5), half stable (v1), half canary (v2), IP literals (no
// DNS). BM_BuildSnapshot keeps one EndpointRegistry across builds, as the process does; BM_*FreshRegistry
// starts each build with an empty one (the first build after start-up).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/dataplane/routing_snapshot.hpp"
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

}  // namespace
