// The rollout driver (see rollout_driver.hpp): sampling the evidence, judging, aborting, moving steps.
#include "proxy/control/rollout_driver.hpp"

#include <unistd.h>

#include <array>
#include <cstdlib>

#include "proxy/net/log.hpp"
#include "weights/rollout_step_decision.hpp"
#include "weights/rollout_transitions.hpp"

namespace canaryd::proxy {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

/// The weight the data plane routes the canary with: none at all once aborted.
config::BasisPoints routed_weight(const weights::RoutingState& state) { return state.aborted ? 0 : state.canary_weight; }

const weights::RolloutRecord* running(const weights::RoutingState& state) {
  return state.rollout && state.rollout->active() ? &*state.rollout : nullptr;
}

}  // namespace

std::string replica_identity(bool shared_state) {
  if (const char* pod = std::getenv("POD_NAME"); pod != nullptr && *pod != '\0') return pod;
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  if (!shared_state) return host.data();
  return std::string(host.data()) + ":" + std::to_string(getpid());
}

RolloutDriver::RolloutDriver(boost::asio::io_context& io, weights::ControlService& service,
                             std::function<weights::ServiceView()> view, EvidenceSource evidence, std::string identity)
    : io_(io),
      service_(service),
      view_(std::move(view)),
      evidence_(std::move(evidence)),
      identity_(std::move(identity)),
      timer_(io),
      epoch_(std::chrono::steady_clock::now()) {}

void RolloutDriver::start() {
  // Whatever the workers counted before now is no rollout's evidence.
  seen_ = evidence_();
  weight_in_force_ = routed_weight(service_.current());
  schedule();
}

void RolloutDriver::stop() { timer_.cancel(); }

void RolloutDriver::schedule() {
  timer_.expires_after(kTick);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    tick();
    schedule();
  });
}

void RolloutDriver::before_publish() {
  observe();
  weight_in_force_ = routed_weight(service_.current());
}

weights::EvidenceInterval RolloutDriver::sample() {
  EvidenceTotals now = evidence_();
  EvidenceTotals delta = now;
  delta -= seen_;
  seen_ = std::move(now);
  weights::EvidenceInterval interval;
  interval.end = duration_cast<milliseconds>(std::chrono::steady_clock::now() - epoch_);
  interval.canary_weight = weight_in_force_;
  interval.stable = std::move(delta.stable);
  interval.canary = std::move(delta.canary);
  return interval;
}

void RolloutDriver::observe() {
  const weights::EvidenceInterval interval = sample();
  const weights::RoutingState& state = service_.current();
  const weights::RolloutRecord* record = running(state);
  if (record == nullptr || !record->plan.analysis) {
    analysis_.reset();
    // A finished rollout keeps the figures of its last check (why it was aborted, say).
    if (!state.rollout || state.rollout->started_revision != analysed_) {
      verdict_.reset();
      analysed_ = 0;
    }
    return;
  }
  if (analysed_ != record->started_revision) {
    // A new rollout (or this process's first sight of one, after a restart): its own analysis, which
    // starts from this interval on. The plan was validated when the rollout started.
    auto made = weights::RolloutAnalysis::create(*record->plan.analysis);
    if (!made) return;
    analysis_ = std::move(*made);
    verdict_.reset();
    analysed_ = record->started_revision;
    next_check_ = interval.end + record->plan.analysis->interval;
    return;
  }
  analysis_->observe(interval);
}

void RolloutDriver::tick() {
  observe();
  weight_in_force_ = routed_weight(service_.current());
  judge();
  drive();
}

void RolloutDriver::judge() {
  if (!analysis_) return;
  const auto now = duration_cast<milliseconds>(std::chrono::steady_clock::now() - epoch_);
  if (now >= next_check_) {
    verdict_ = analysis_->check(now);
    next_check_ = now + service_.current().rollout->plan.analysis->interval;
    if (verdict_->abort) return abort(verdict_->reason);
  }
  if (const auto& reason = analysis_->abort_reason()) abort(*reason);
}

void RolloutDriver::abort(const std::string& reason) {
  apply(
      [reason](const weights::RoutingHistory& h) {
        weights::ServiceView none;
        return weights::abort_rollout(h, reason,
                                      weights::transition_context(none, "rollout aborted: " + reason, weights::Clock::now()));
      },
      "abort");
}

void RolloutDriver::drive() {
  holding_.clear();
  const weights::RolloutRecord* record = running(service_.current());
  if (record == nullptr) return;
  const weights::ServiceView view = view_();
  const auto ctx = weights::transition_context(view, "", weights::Clock::now());
  const bool healthy = weights::canary_endpoints(service_.current(), ctx).any_healthy;
  const weights::StepDecision decision = weights::decide_step(*record, ctx.now, verdict_, healthy, identity_);
  holding_ = decision.holding;
  if (!decision.advance) return;
  const unsigned from = record->step;
  apply([from, me = identity_, ctx](const weights::RoutingHistory& h) { return weights::advance_rollout(h, from, me, ctx); },
        "step");
}

void RolloutDriver::apply(weights::ControlService::Transition transition, std::string what) {
  // One of ours at a time: the next tick sees its outcome before deciding again.
  if (in_flight_) return;
  in_flight_ = true;
  const std::uint64_t before = service_.current().revision;
  service_.apply(std::move(transition), [this, before, what = std::move(what)](weights::ControlService::ApplyResult r) {
    in_flight_ = false;
    if (!r) {
      log_line("rollout: the " + what + " was not applied: " + r.error().message);
      return;
    }
    if (r->revision == before) return;  // another replica got there first
    if (what == "abort") ++aborts_;
    log_line(r->cause + " (revision " + std::to_string(r->revision) + ", by " + identity_ + ")");
  });
}

}  // namespace canaryd::proxy
