// canaryd_rollout_sim: the rollout analysis's simulation table (docs/rollout-analysis.md), printed as
// Markdown: time to abort a bad canary and false aborts of healthy ones over an hour, for canaryd's
// analysis and a Flagger-style threshold rule, over seeded runs.
//
//   build/bench/canaryd_rollout_sim [--runs 1000] [--threads 2] [--seed 1]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "weights/rollout_simulation.hpp"

namespace {

using canaryd::weights::AbortSummary;
using canaryd::weights::ScenarioSummary;
using canaryd::weights::SimulationScenario;

struct Row {
  std::string name;
  SimulationScenario scenario;
  ScenarioSummary summary;
};

SimulationScenario scenario(double stable_errors, double canary_errors, double rate, canaryd::config::BasisPoints weight,
                            std::chrono::seconds duration) {
  SimulationScenario s;
  s.stable.error_rate = stable_errors;
  s.canary.error_rate = canary_errors;
  s.requests_per_second = rate;
  s.canary_weight = weight;
  s.duration = duration;
  return s;
}

std::vector<Row> rows() {
  using std::chrono::seconds;
  std::vector<Row> out;
  out.push_back({"bad canary: errors 0.5 % / 20 %", scenario(0.005, 0.20, 50, 1000, seconds(600)), {}});
  out.push_back({"bad canary: errors 0.5 % / 20 %", scenario(0.005, 0.20, 50, 100, seconds(1800)), {}});
  auto slow = scenario(0.005, 0.005, 50, 1000, seconds(1800));
  slow.canary.latency_median_ms *= 2;
  out.push_back({"slow canary: latency x 2", slow, {}});
  for (const double errors : {0.005, 0.01}) {
    for (const double rate : {5.0, 50.0, 500.0}) {
      for (const canaryd::config::BasisPoints weight : {100u, 1000u, 5000u}) {
        out.push_back({"A/A: errors " + std::string(errors == 0.005 ? "0.5" : "1") + " %, 1 h",
                       scenario(errors, errors, rate, weight, seconds(3600)), {}});
      }
    }
  }
  return out;
}

std::string seconds_text(const std::optional<double>& t) {
  return t ? std::to_string(static_cast<long>(*t)) + " s" : "never";
}

std::string aborts_text(const AbortSummary& s) {
  char text[64];
  std::snprintf(text, sizeof text, "%u (%.1f %%)", s.aborts, 100.0 * s.aborts / std::max(1u, s.runs));
  return text;
}

void print(const std::vector<Row>& table, unsigned runs) {
  std::printf("| scenario | req/s | canary weight | runs | canaryd aborts | median | p95 | threshold rule aborts | median | p95 |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const Row& row : table) {
    const auto& a = row.summary.analysis;
    const auto& r = row.summary.threshold_rule;
    std::printf("| %s | %g | %g %% | %u | %s | %s | %s | %s | %s | %s |\n", row.name.c_str(),
                row.scenario.requests_per_second, row.scenario.canary_weight / 100.0, runs, aborts_text(a).c_str(),
                seconds_text(a.median).c_str(), seconds_text(a.p95).c_str(), aborts_text(r).c_str(),
                seconds_text(r.median).c_str(), seconds_text(r.p95).c_str());
  }
}

unsigned option(int argc, char** argv, std::string_view name, unsigned fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return static_cast<unsigned>(std::strtoul(argv[i + 1], nullptr, 10));
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned runs = option(argc, argv, "--runs", 1000);
  const unsigned threads = std::max(1u, option(argc, argv, "--threads", 2));
  const unsigned seed = option(argc, argv, "--seed", 1);
  std::vector<Row> table = rows();
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (std::size_t i = next++; i < table.size(); i = next++) {
        table[i].summary = canaryd::weights::simulate(table[i].scenario, runs, seed);
      }
    });
  }
  for (auto& thread : pool) thread.join();
  print(table, runs);
  return 0;
}
