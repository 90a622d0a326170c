// Splitter::next_is_canary: the per-request split decision (one per worker, no lock).
#include <benchmark/benchmark.h>

#include "weights/splitter.hpp"

namespace {

void BM_SplitterNextIsCanary(benchmark::State& st) {
  canaryd::weights::Splitter splitter;
  const auto weight = static_cast<canaryd::config::BasisPoints>(st.range(0));
  std::uint64_t canary = 0;
  for (auto _ : st) {
    bool c = splitter.next_is_canary(weight);
    benchmark::DoNotOptimize(c);
    canary += c;
  }
  st.counters["canary_share"] = st.iterations() ? static_cast<double>(canary) / st.iterations() : 0.0;
}
// basis points: 0 %, 1 %, 10 %, 50 %, 100 %
BENCHMARK(BM_SplitterNextIsCanary)->Arg(0)->Arg(100)->Arg(1000)->Arg(5000)->Arg(10000);

}  // namespace
