// Unit tests of a worker's counters: request classes and buckets per set, upstream errors, connection gauges.
#include "proxy/dataplane/worker_metrics.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>

namespace canaryd::proxy {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::size_t kStable = static_cast<std::size_t>(SetKind::Stable);
constexpr std::size_t kCanary = static_cast<std::size_t>(SetKind::Canary);
constexpr std::size_t kNone = static_cast<std::size_t>(SetKind::None);
constexpr std::size_t kInf = kDurationBuckets.size();  // index of the +Inf bucket

// The only bucket holding a count for this set, or -1 when none or several do.
int only_bucket(const WorkerMetrics& m, std::size_t set) {
  int found = -1;
  for (std::size_t b = 0; b <= kInf; ++b) {
    if (m.bucket(set, b) == 0) continue;
    if (found != -1) return -1;
    found = static_cast<int>(b);
  }
  return found;
}

std::uint64_t requests_total(const WorkerMetrics& m, std::size_t set) {
  std::uint64_t n = 0;
  for (std::size_t c = 0; c < kCodeClassNames.size(); ++c) n += m.requests(set, c);
  return n;
}

TEST(WorkerMetricsTest, StartsAtZero) {
  const auto m = std::make_unique<WorkerMetrics>();
  for (std::size_t s = 0; s < 3; ++s) {
    EXPECT_EQ(requests_total(*m, s), 0u);
    EXPECT_EQ(only_bucket(*m, s), -1);
    EXPECT_EQ(m->duration_us(s), 0u);
  }
  EXPECT_EQ(m->client_connections(), 0);
  EXPECT_EQ(m->upstream_connections(), 0);
}

TEST(WorkerMetricsTest, DurationLandsInTheFirstBucketWhoseBoundHoldsIt) {
  struct Row {
    std::chrono::steady_clock::duration took;
    std::size_t bucket;
  };
  const Row rows[] = {
      {microseconds(0), 0},       {microseconds(500), 0},    {milliseconds(1), 0},  // le is inclusive
      {microseconds(1001), 1},    {microseconds(2500), 1},   {microseconds(2501), 2},
      {milliseconds(5), 2},       {milliseconds(7), 3},      {milliseconds(10), 3},
      {milliseconds(20), 4},      {milliseconds(25), 4},     {milliseconds(50), 5},
      {milliseconds(99), 6},      {milliseconds(100), 6},    {milliseconds(250), 7},
      {milliseconds(499), 8},     {milliseconds(500), 8},    {milliseconds(999), 9},
      {seconds(1), 9},            {milliseconds(1001), 10},  {milliseconds(2500), 10},
      {seconds(3), 11},           {seconds(10), 11},         {milliseconds(10001), kInf},
      {seconds(3600), kInf},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(std::chrono::duration_cast<microseconds>(row.took).count());
    const auto m = std::make_unique<WorkerMetrics>();
    m->record_request(SetKind::Stable, 200, row.took);
    EXPECT_EQ(only_bucket(*m, kStable), static_cast<int>(row.bucket));
  }
}

TEST(WorkerMetricsTest, StatusGoesToItsClass) {
  struct Row {
    unsigned status;
    std::size_t cls;
  };
  const Row rows[] = {{200, 0}, {204, 0}, {299, 0}, {300, 1}, {304, 1}, {399, 1},
                      {400, 2}, {404, 2}, {499, 2}, {500, 3}, {502, 3}, {599, 3}};
  for (const auto& row : rows) {
    SCOPED_TRACE(row.status);
    const auto m = std::make_unique<WorkerMetrics>();
    m->record_request(SetKind::Canary, row.status, milliseconds(1));
    for (std::size_t c = 0; c < kCodeClassNames.size(); ++c)
      EXPECT_EQ(m->requests(kCanary, c), c == row.cls ? 1u : 0u) << kCodeClassNames[c];
  }
}

TEST(WorkerMetricsTest, RequestsArePerProtocol) {
  const auto m = std::make_unique<WorkerMetrics>();
  m->record_request(SetKind::Stable, 200, milliseconds(1));
  m->record_request(SetKind::Stable, 200, milliseconds(1), {}, Protocol::Http2);
  m->record_request(SetKind::Stable, 502, milliseconds(1), {}, Protocol::Http2);
  EXPECT_EQ(m->requests(0, kStable, 0), 1u);
  EXPECT_EQ(m->requests(1, kStable, 0), 1u);
  EXPECT_EQ(m->requests(1, kStable, 3), 1u);
  EXPECT_EQ(m->requests(kStable, 0), 2u);  // both protocols
  EXPECT_EQ(kProtocolNames[static_cast<std::size_t>(Protocol::Http2)], std::string_view("http2"));
}

TEST(WorkerMetricsTest, CountersArePerSet) {
  const auto m = std::make_unique<WorkerMetrics>();
  m->record_request(SetKind::Stable, 200, milliseconds(3));
  m->record_request(SetKind::Stable, 200, milliseconds(3));
  m->record_request(SetKind::Stable, 503, milliseconds(30));
  m->record_request(SetKind::Canary, 404, microseconds(1500));
  m->record_request(SetKind::None, 400, microseconds(10));

  EXPECT_EQ(m->requests(kStable, 0), 2u);
  EXPECT_EQ(m->requests(kStable, 3), 1u);
  EXPECT_EQ(requests_total(*m, kStable), 3u);
  EXPECT_EQ(m->requests(kCanary, 2), 1u);
  EXPECT_EQ(requests_total(*m, kCanary), 1u);
  EXPECT_EQ(m->requests(kNone, 2), 1u);
  EXPECT_EQ(requests_total(*m, kNone), 1u);

  EXPECT_EQ(m->bucket(kStable, 2), 2u);  // 3 ms: le 0.005
  EXPECT_EQ(m->bucket(kStable, 5), 1u);  // 30 ms: le 0.05
  EXPECT_EQ(only_bucket(*m, kCanary), 1);  // 1.5 ms: le 0.0025
  EXPECT_EQ(only_bucket(*m, kNone), 0);

  EXPECT_EQ(m->duration_us(kStable), 36000u);
  EXPECT_EQ(m->duration_us(kCanary), 1500u);
  EXPECT_EQ(m->duration_us(kNone), 10u);
}

TEST(WorkerMetricsTest, BucketCountsAddUpToRequestCount) {
  const auto m = std::make_unique<WorkerMetrics>();
  for (int i = 0; i < 50; ++i) m->record_request(SetKind::Canary, 200 + (i % 4) * 100, milliseconds(i * 40));
  std::uint64_t in_buckets = 0;
  for (std::size_t b = 0; b <= kInf; ++b) in_buckets += m->bucket(kCanary, b);
  EXPECT_EQ(in_buckets, 50u);
  EXPECT_EQ(requests_total(*m, kCanary), 50u);
  for (std::size_t c = 0; c < kCodeClassNames.size(); ++c) EXPECT_EQ(m->requests(kCanary, c), 13u - (c >= 2 ? 1u : 0u));
  EXPECT_EQ(requests_total(*m, kStable), 0u);
}

TEST(WorkerMetricsTest, DurationSumIsInMicroseconds) {
  const auto m = std::make_unique<WorkerMetrics>();
  m->record_request(SetKind::Stable, 200, std::chrono::nanoseconds(1999));  // truncated to 1 us
  m->record_request(SetKind::Stable, 200, seconds(2));
  EXPECT_EQ(m->duration_us(kStable), 2000001u);
}

TEST(WorkerMetricsTest, UpstreamErrorsAndFallbacksArePerSetAndKind) {
  const auto m = std::make_unique<WorkerMetrics>();
  m->record_upstream_error(SetKind::Stable, UpstreamErrorKind::Connect);
  m->record_upstream_error(SetKind::Stable, UpstreamErrorKind::Connect);
  m->record_upstream_error(SetKind::Canary, UpstreamErrorKind::Timeout);
  m->record_upstream_error(SetKind::Canary, UpstreamErrorKind::Reset);
  m->record_fallback(SetKind::Canary);
  EXPECT_EQ(m->upstream_errors(kStable, 0), 2u);
  EXPECT_EQ(m->upstream_errors(kStable, 1), 0u);
  EXPECT_EQ(m->upstream_errors(kStable, 2), 0u);
  EXPECT_EQ(m->upstream_errors(kCanary, 0), 0u);
  EXPECT_EQ(m->upstream_errors(kCanary, 1), 1u);
  EXPECT_EQ(m->upstream_errors(kCanary, 2), 1u);
  EXPECT_EQ(m->fallbacks(kStable), 0u);
  EXPECT_EQ(m->fallbacks(kCanary), 1u);
}

TEST(WorkerMetricsTest, ConnectionGaugesGoUpAndDown) {
  const auto m = std::make_unique<WorkerMetrics>();
  m->client_connections(1);
  m->client_connections(1);
  m->client_connections(-1);
  m->upstream_connections(1);
  m->upstream_connections(-1);
  m->upstream_connections(-1);
  EXPECT_EQ(m->client_connections(), 1);
  EXPECT_EQ(m->upstream_connections(), -1);
}

TEST(WorkerMetricsTest, TunnelsCountStartsAndGaugeOpenOnesPerSet) {
  const auto m = std::make_unique<WorkerMetrics>();
  EXPECT_EQ(m->tunnels_total(kStable), 0u);
  EXPECT_EQ(m->tunnels_active(kCanary), 0);
  m->tunnels(SetKind::Stable, +1);
  m->tunnels(SetKind::Stable, +1);
  m->tunnels(SetKind::Canary, +1);
  m->tunnels(SetKind::Stable, -1);
  EXPECT_EQ(m->tunnels_total(kStable), 2u);
  EXPECT_EQ(m->tunnels_active(kStable), 1);
  EXPECT_EQ(m->tunnels_total(kCanary), 1u);
  EXPECT_EQ(m->tunnels_active(kCanary), 1);
  m->tunnels(SetKind::Canary, -1);
  EXPECT_EQ(m->tunnels_total(kCanary), 1u);  // a counter: the end of a tunnel does not take it back
  EXPECT_EQ(m->tunnels_active(kCanary), 0);
}

// Rollout evidence: the requests the weight placed, per set, with their errors and latencies.
weights::SetEvidence evidence(const WorkerMetrics& m, SetKind set) {
  weights::SetEvidence sum;
  m.evidence(set).add_to(sum);
  return sum;
}

TEST(WorkerMetricsTest, OnlyRequestsTheWeightPlacedAreRolloutEvidence) {
  const auto m = std::make_unique<WorkerMetrics>();
  m->record_request(SetKind::Canary, 200, milliseconds(1));                 // forced or a fallback
  m->record_request(SetKind::Canary, 500, milliseconds(1), {false, true});  // forced, and failed
  m->record_request(SetKind::Canary, 200, milliseconds(1), {true, false});
  m->record_request(SetKind::Stable, 200, milliseconds(1), {true, false});
  m->record_request(SetKind::Stable, 200, milliseconds(1), {true, false});
  m->record_request(SetKind::None, 503, milliseconds(1), {true, false});  // no set: nobody's evidence
  EXPECT_EQ(evidence(*m, SetKind::Canary).requests, 1u);
  EXPECT_EQ(evidence(*m, SetKind::Canary).errors, 0u);
  EXPECT_EQ(evidence(*m, SetKind::Stable).requests, 2u);
  EXPECT_EQ(evidence(*m, SetKind::Stable).errors, 0u);
  EXPECT_EQ(requests_total(*m, kCanary), 3u);  // the request counters still see every request
  EXPECT_EQ(requests_total(*m, kNone), 1u);
}

TEST(WorkerMetricsTest, RolloutErrorsAre5xxAndUpstreamFailuresNot4xx) {
  const auto m = std::make_unique<WorkerMetrics>();
  const RolloutSample placed{true, false};
  for (unsigned status : {200u, 204u, 301u, 404u, 429u, 499u})
    m->record_request(SetKind::Canary, status, milliseconds(1), placed);
  EXPECT_EQ(evidence(*m, SetKind::Canary).requests, 6u);
  EXPECT_EQ(evidence(*m, SetKind::Canary).errors, 0u);
  for (unsigned status : {500u, 502u, 503u, 504u}) m->record_request(SetKind::Canary, status, milliseconds(1), placed);
  m->record_request(SetKind::Canary, 200, milliseconds(1), {true, true});  // the body broke off
  EXPECT_EQ(evidence(*m, SetKind::Canary).requests, 11u);
  EXPECT_EQ(evidence(*m, SetKind::Canary).errors, 5u);
  EXPECT_EQ(evidence(*m, SetKind::Stable).requests, 0u);
}

TEST(WorkerMetricsTest, RolloutLatencyIsTheWholeExchangeInMicroseconds) {
  const auto m = std::make_unique<WorkerMetrics>();
  m->record_request(SetKind::Stable, 200, microseconds(30), {true, false});
  m->record_request(SetKind::Stable, 200, milliseconds(250), {true, false});
  m->record_request(SetKind::Stable, 200, milliseconds(250), {true, false});
  const weights::SetEvidence e = evidence(*m, SetKind::Stable);
  EXPECT_EQ(e.latency.total(), 3u);
  EXPECT_EQ(e.latency.counts[0], 1u);
  EXPECT_EQ(e.latency.counts[weights::latency_bucket(250000)], 2u);
  EXPECT_NE(weights::latency_bucket(250000), weights::latency_bucket(250));  // not milliseconds
}

}  // namespace
}  // namespace canaryd::proxy
