// Unit tests of the process's rollout evidence: the workers' per-set counters summed for the rollout
// driver, and an interval as the difference of two totals; and the rollout families on /metrics.
#include "proxy/control/rollout_evidence_totals.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/control/metrics_exporter.hpp"
#include "proxy/dataplane/access_log_writer.hpp"
#include "proxy/dataplane/worker.hpp"
#include "tests/proxy/metrics_page.hpp"

namespace canaryd::proxy {
namespace {

using std::chrono::milliseconds;

struct Workers {
  std::atomic<std::int64_t> open{0};
  AccessLogWriter access_log;
  std::vector<std::unique_ptr<Worker>> list;

  explicit Workers(int n) : access_log(static_cast<std::size_t>(n)) {
    for (int i = 0; i < n; ++i)
      list.push_back(std::make_unique<Worker>(std::make_shared<RoutingSnapshot>(), open,
                                              access_log.buffers(static_cast<std::size_t>(i))));
  }
  // A finished request on worker `i` (on the test's thread: the worker is not started).
  void request(int i, SetKind set, unsigned status, bool weight_placed) {
    list[static_cast<std::size_t>(i)]->metrics().record_request(set, status, milliseconds(2), {weight_placed, false});
  }
};

TEST(RolloutEvidenceTotals, ZeroWithoutWorkersOrRequests) {
  EXPECT_EQ(sum_rollout_evidence({}), EvidenceTotals{});
  Workers w(2);
  EXPECT_EQ(sum_rollout_evidence(w.list), EvidenceTotals{});
}

TEST(RolloutEvidenceTotals, SumsEveryWorkerPerSet) {
  Workers w(3);
  w.request(0, SetKind::Canary, 200, true);
  w.request(1, SetKind::Canary, 503, true);
  w.request(2, SetKind::Canary, 500, false);  // forced: not evidence
  w.request(0, SetKind::Stable, 200, true);
  w.request(2, SetKind::Stable, 502, true);
  w.request(2, SetKind::Stable, 404, true);
  const EvidenceTotals t = sum_rollout_evidence(w.list);
  EXPECT_EQ(t.canary.requests, 2u);
  EXPECT_EQ(t.canary.errors, 1u);
  EXPECT_EQ(t.canary.latency.total(), 2u);
  EXPECT_EQ(t.stable.requests, 3u);
  EXPECT_EQ(t.stable.errors, 1u);
  EXPECT_EQ(t.stable.latency.counts[weights::latency_bucket(2000)], 3u);
}

TEST(RolloutEvidenceTotals, AnIntervalIsTheDifferenceOfTwoTotals) {
  Workers w(2);
  w.request(0, SetKind::Canary, 200, true);
  w.request(1, SetKind::Stable, 200, true);
  const EvidenceTotals before = sum_rollout_evidence(w.list);
  w.request(1, SetKind::Canary, 500, true);
  w.request(0, SetKind::Canary, 200, true);
  EvidenceTotals interval = sum_rollout_evidence(w.list);
  interval -= before;
  EXPECT_EQ(interval.canary.requests, 2u);
  EXPECT_EQ(interval.canary.errors, 1u);
  EXPECT_EQ(interval.canary.latency.total(), 2u);
  EXPECT_EQ(interval.stable, weights::SetEvidence{});
}

TEST(RolloutMetricsFamilies, NoRolloutIsPhaseNoneAndStepZero) {
  const std::string page = render_metrics({}, RoutingSnapshot{}, RolloutMetrics{});
  EXPECT_EQ(samples(page, "canaryd_rollout_phase"),
            (std::vector<std::string>{"canaryd_rollout_phase{phase=\"none\"} 1",
                                      "canaryd_rollout_phase{phase=\"progressing\"} 0",
                                      "canaryd_rollout_phase{phase=\"paused\"} 0",
                                      "canaryd_rollout_phase{phase=\"completed\"} 0",
                                      "canaryd_rollout_phase{phase=\"aborted\"} 0"}));
  EXPECT_EQ(samples(page, "canaryd_rollout_step"), std::vector<std::string>{"canaryd_rollout_step 0"});
  EXPECT_EQ(samples(page, "canaryd_rollout_aborts_total"), std::vector<std::string>{"canaryd_rollout_aborts_total 0"});
  EXPECT_NE(page.find("# TYPE canaryd_rollout_phase gauge"), std::string::npos);
  EXPECT_NE(page.find("# TYPE canaryd_rollout_step gauge"), std::string::npos);
  EXPECT_NE(page.find("# TYPE canaryd_rollout_aborts_total counter"), std::string::npos);
  EXPECT_NE(page.find("# HELP canaryd_rollout_phase "), std::string::npos);
}

TEST(RolloutMetricsFamilies, TheCallerSaysThePhaseStepAndAborts) {
  const std::string page = render_metrics({}, RoutingSnapshot{}, RolloutMetrics{"paused", 2, 3});
  const auto phase = samples(page, "canaryd_rollout_phase");
  ASSERT_EQ(phase.size(), 5u);
  for (const auto& line : phase) {
    const bool current = line.find("\"paused\"") != std::string::npos;
    EXPECT_EQ(line.back(), current ? '1' : '0') << line;
  }
  EXPECT_EQ(samples(page, "canaryd_rollout_step"), std::vector<std::string>{"canaryd_rollout_step 2"});
  EXPECT_EQ(samples(page, "canaryd_rollout_aborts_total"), std::vector<std::string>{"canaryd_rollout_aborts_total 3"});
}

}  // namespace
}  // namespace canaryd::proxy
