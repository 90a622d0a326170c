// The rollout driver: on the main thread, every kTick it reads the data plane's per-set evidence (the
// requests the weight placed), feeds this replica's analysis of the running rollout, aborts it when the
// analysis fails, and moves the step when decide_step says so. Every move is a transition through
// ControlService, so it is stored (and shared with the other replicas) before it takes effect.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "proxy/control/rollout_evidence_totals.hpp"
#include "weights/control_service.hpp"
#include "weights/rollout_analysis.hpp"
#include "weights/rollout_api.hpp"

namespace canaryd::proxy {

/// This replica's name in a rollout record: $POD_NAME (the downward API); else, with a shared state
/// (a ConfigMap), hostname:pid; with a state file, the hostname alone: one file has one writer, so a
/// restarted process is the same replica and continues the rollout at its deadline, not a takeover later.
std::string replica_identity(bool shared_state);

class RolloutDriver {
 public:
  static constexpr std::chrono::milliseconds kTick{500};

  /// The workers' cumulative weight-placed evidence per set.
  using EvidenceSource = std::function<EvidenceTotals()>;

  RolloutDriver(boost::asio::io_context& io, weights::ControlService& service,
                std::function<weights::ServiceView()> view, EvidenceSource evidence, std::string identity);

  void start();
  void stop();
  /// Before a new routing state is published: the evidence so far is closed at the weight it was
  /// routed with, so every request is judged with the weight in force when it was routed.
  void before_publish();

  weights::RolloutLive live() const { return {verdict_, holding_}; }
  const std::string& identity() const { return identity_; }
  /// Rollouts this process aborted (canaryd_rollout_aborts_total).
  std::uint64_t aborts() const { return aborts_; }

 private:
  void schedule();
  void tick();
  /// The evidence since the last sample, as an interval at the weight in force.
  weights::EvidenceInterval sample();
  /// Feeds the interval since the last sample to the running rollout's analysis (made on first sight).
  void observe();
  /// Runs the threshold checks when due; aborts when the analysis says so.
  void judge();
  void drive();
  void abort(const std::string& reason);
  void apply(weights::ControlService::Transition transition, std::string what);

  boost::asio::io_context& io_;
  weights::ControlService& service_;
  std::function<weights::ServiceView()> view_;
  EvidenceSource evidence_;
  std::string identity_;
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point epoch_;

  EvidenceTotals seen_;  ///< cumulative totals at the last sample
  config::BasisPoints weight_in_force_ = 0;  ///< the canary weight the data plane routes with

  std::uint64_t analysed_ = 0;  ///< started_revision of the rollout the analysis belongs to
  std::optional<weights::RolloutAnalysis> analysis_;
  std::optional<weights::Verdict> verdict_;
  std::chrono::milliseconds next_check_{0};
  std::string holding_;
  bool in_flight_ = false;  ///< a transition of ours waits on the store
  std::uint64_t aborts_ = 0;
};

}  // namespace canaryd::proxy
