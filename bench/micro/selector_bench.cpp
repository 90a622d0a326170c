// Selector::matches on pod-like label maps: map-style selectors (from_labels / `a=b,c=d`) and set-based
// ones (`in`, `notin`, `!key`). Runs when snapshots are built (every endpoint against each set's selector).
#include <benchmark/benchmark.h>

#include <stdexcept>
#include <string>

#include "config/labels.hpp"
#include "config/selector.hpp"

namespace {
using canaryd::config::Labels;
using canaryd::config::Selector;

Labels pod_labels() {
  return {{"app.kubernetes.io/name", "checkout"},
          {"app.kubernetes.io/instance", "checkout-prod"},
          {"app.kubernetes.io/version", "v2.14.1"},
          {"app.kubernetes.io/component", "api"},
          {"app.kubernetes.io/part-of", "shop"},
          {"app.kubernetes.io/managed-by", "helm"},
          {"pod-template-hash", "7d9f8c6b5d"},
          {"track", "canary"},
          {"tier", "backend"},
          {"env", "production"}};
}

Selector parse(const char* text) {
  auto s = Selector::parse(text);
  if (!s) throw std::runtime_error("selector " + std::string(text) + ": " + s.error().message);
  return *s;
}

void run(benchmark::State& st, const Selector& sel, const Labels& labels, bool expect) {
  if (sel.matches(labels) != expect) {
    st.SkipWithError("unexpected match result");
    return;
  }
  for (auto _ : st) {
    bool m = sel.matches(labels);
    benchmark::DoNotOptimize(m);
  }
}

void BM_SelectorMapMatch(benchmark::State& st) {
  // what `stable: {app.kubernetes.io/name: checkout, track: canary}` becomes
  run(st, Selector::from_labels({{"app.kubernetes.io/name", "checkout"}, {"track", "canary"}}), pod_labels(), true);
}
BENCHMARK(BM_SelectorMapMatch);

void BM_SelectorMapMiss(benchmark::State& st) {
  run(st, Selector::from_labels({{"app.kubernetes.io/name", "checkout"}, {"track", "stable"}}), pod_labels(), false);
}
BENCHMARK(BM_SelectorMapMiss);

void BM_SelectorConjunctionMatch(benchmark::State& st) {
  // service selector AND set selector, as build_snapshot uses them
  auto service = Selector::from_labels({{"app.kubernetes.io/name", "checkout"}, {"env", "production"}});
  auto set = Selector::from_labels({{"track", "canary"}, {"app.kubernetes.io/version", "v2.14.1"}});
  run(st, Selector::conjunction(service, set), pod_labels(), true);
}
BENCHMARK(BM_SelectorConjunctionMatch);

void BM_SelectorSetBasedMatch(benchmark::State& st) {
  run(st,
      parse("app.kubernetes.io/name in (cart,checkout,payments),track notin (stable,shadow),env,!deprecated,"
            "tier in (backend)"),
      pod_labels(), true);
}
BENCHMARK(BM_SelectorSetBasedMatch);

void BM_SelectorSetBasedMiss(benchmark::State& st) {
  run(st, parse("app.kubernetes.io/name in (cart,checkout,payments),track in (stable,shadow)"), pod_labels(), false);
}
BENCHMARK(BM_SelectorSetBasedMiss);

void BM_SelectorEmptyMatchesAll(benchmark::State& st) { run(st, Selector{}, pod_labels(), true); }
BENCHMARK(BM_SelectorEmptyMatchesAll);

}  // namespace
