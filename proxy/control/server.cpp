// The running process: reacts to signals (SIGHUP reload, SIGUSR2 hot upgrade, SIGTERM drain), keeps the
// routing snapshot of every worker current, and ejects endpoints after failure streaks.
#include "proxy/control/server.hpp"

#include <unistd.h>

#include <algorithm>
#include <csignal>

#include <boost/asio/post.hpp>

#include "config/duration.hpp"
#include "proxy/control/reload_changes.hpp"
#include "proxy/control/reload_plan.hpp"
#include "proxy/net/log.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;

namespace {

// Long enough for a successor on a loaded host to load its state and TLS files; short enough that an
// operator is not left wondering whether the upgrade happened.
constexpr auto kUpgradeDeadline = std::chrono::seconds(30);

}  // namespace

Server::Server(config::Config config, std::string config_path)
    : config_(std::move(config)), config_path_(std::move(config_path)) {}

Server::~Server() {
  for (auto& w : workers_) w->stop();
  for (auto& w : workers_) w->join();
}

int Server::run() {
  io_.run();
  for (auto& w : workers_) w->join();
  if (access_log_) access_log_->stop();  // the workers' last lines
  return 0;
}

std::function<bool(const std::string&)> Server::is_healthy() const {
  return [this](const std::string& address) { return health_->healthy(address) && !ejection_.ejected(address); };
}

void Server::on_discovered(std::vector<config::Endpoint> endpoints) {
  log_line("kubernetes: " + std::to_string(endpoints.size()) + " ready pod(s) in the service");
  config_.endpoints = std::move(endpoints);
  // Discovered pods are plain HTTP: TLS settings belong to configured endpoints only.
  tls_.endpoints.assign(config_.endpoints.size(), nullptr);
  health_->configure(config_.health, config_.endpoints, tls_.endpoints);
  configure_ejection();
  update_connection_budget(workers_.size(), false);  // one probe per endpoint
  publish();
}

void Server::configure_ejection() {
  if (config_.health) ejection_.configure(config_.health->ejection_time, config_.health->max_ejected_percent);
  std::vector<std::string> names;
  // Without health settings nothing is ejected, and whoever was ejected comes back at once.
  if (config_.health)
    for (const auto& ep : config_.endpoints) names.push_back(ep.address.to_string());
  ejection_.retain(names);
  schedule_ejection_expiry();
}

void Server::on_failure_streak(const std::string& endpoint) {
  if (draining_ || !config_.health) return;
  for (const auto& set : snapshot_->sets) {
    std::vector<std::string> members;
    for (const auto& ep : set) members.push_back(ep.name);
    if (std::find(members.begin(), members.end(), endpoint) == members.end()) continue;
    auto length = ejection_.report_failures(endpoint, members, PassiveEjection::Clock::now());
    if (!length) return;
    log_line("endpoint " + endpoint + " ejected for " + config::format_duration(*length) + " after " +
                 std::to_string(config_.health->unhealthy_threshold) + " failed requests in a row",
             {{"endpoint", endpoint}, {"health", "ejected"}});
    publish();
    schedule_ejection_expiry();
    return;
  }
}

void Server::schedule_ejection_expiry() {
  auto next = ejection_.next_expiry();
  if (!next) {
    ejection_timer_.cancel();
    return;
  }
  ejection_timer_.expires_at(*next);
  ejection_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    auto back = ejection_.expire(PassiveEjection::Clock::now());
    for (const auto& name : back)
      log_line("endpoint " + name + " returns after its ejection", {{"endpoint", name}, {"health", "returned"}});
    if (!back.empty()) publish();
    schedule_ejection_expiry();
  });
}

void Server::publish() {
  snapshot_ = make_snapshot();
  for (auto& w : workers_) w->publish(snapshot_);
}

void Server::publish_routing_state() {
  const auto& state = control_->current();
  if (!snapshot_ || snapshot_->endpoints_by_name || snapshot_selectors_ != SetSelectors(state)) return publish();
  snapshot_ = with_routing_state(*snapshot_, state);
  for (auto& w : workers_) w->publish(snapshot_);
}

std::shared_ptr<const RoutingSnapshot> Server::make_snapshot() {
  std::vector<std::string> problems;
  const auto& state = control_->current();
  snapshot_selectors_.emplace(state);
  auto snap = build_snapshot(config_, state, registry_, problems, is_healthy(), &tls_);
  for (const auto& p : problems) log_line(config_.source + ": endpoints: " + p);
  snap->max_connections = config_.limits.max_connections.value_or(budget_.max_connections);
  snap->max_idle_upstream = budget_.idle_upstream_per_worker;
  return snap;
}

void Server::update_connection_budget(std::size_t workers, bool announce) {
  budget_ = connection_budget({descriptor_limit_, workers, config_.listen.size(), config_.endpoints.size(),
                               ControlServer::kMaxConnections});
  const auto& asked = config_.limits.max_connections;
  if (!announce || !asked || (*asked != 0 && *asked <= budget_.max_connections)) return;
  log_line(config_.source + ": limits.max_connections: " + (*asked == 0 ? "0 (no limit)" : std::to_string(*asked)) +
           " is more than the " + std::to_string(budget_.max_connections) +
           " client connections the file descriptor limit (" + std::to_string(descriptor_limit_) +
           ") allows; beyond them, requests may get 503 when canaryd runs out of file descriptors");
}

weights::ServiceView Server::service_view() const {
  weights::ServiceView view;
  view.service_selector = config_.service.selector;
  for (const auto& ep : config_.endpoints) {
    std::string name = ep.address.to_string();
    bool healthy = health_->healthy(name) && !ejection_.ejected(name);
    view.endpoints.push_back({std::move(name), ep.labels, healthy, ep.pod});
  }
  view.served = served_.numbers();
  return view;
}

void Server::sample_served() {
  weights::SetCounts totals;
  for (const auto& w : workers_) {
    const auto& m = w->metrics();
    for (std::size_t cls = 0; cls < kCodeClassNames.size(); ++cls) {
      totals.stable += m.requests(static_cast<std::size_t>(SetKind::Stable), cls);
      totals.canary += m.requests(static_cast<std::size_t>(SetKind::Canary), cls);
      totals.none += m.requests(static_cast<std::size_t>(SetKind::None), cls);
    }
  }
  served_.sample(weights::ServedShare::Clock::now(), totals);
  served_timer_.expires_after(weights::ServedShare::kInterval);
  served_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) sample_served();
  });
}

void Server::wait_signals() {
  signals_.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      ++(reload() ? reloads_.success : reloads_.failure);
    } else if (sig == SIGUSR2) {
      begin_upgrade();
    } else if (sig == SIGUSR1) {
      reopen_access_log();
    } else if (!draining_) {
      log_line(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") + ", draining");
      if (upgrading_) {
        log_line("hot upgrade abandoned: canaryd is stopping");
        upgrade_.abandon();
        upgrading_ = false;
        control_server_->resume();
      }
      begin_drain();
    } else {
      log_line("second stop signal: stopping now");
      for (auto& w : workers_) w->stop();
    }
    wait_signals();
  });
}

bool Server::reload() {
  if (config_path_.empty()) {
    log_line("SIGHUP: the demo has no config file to re-read");
    return false;
  }
  auto result = config::load_config_file(config_path_);
  if (!result) {
    log_line("reload failed; the running configuration stays in force:");
    for (const auto& e : result.error()) log_line("  " + e);
    return false;
  }
  const std::string changes = join_changes(changed_keys(config_, *result));
  const std::string state_location = config_.state_configmap.empty() ? config_.state_file
                                                                      : "the ConfigMap " + config_.state_configmap;
  const auto weight_notice =
      canary_weight_notice(config_, *result, control_->current().canary_weight, state_location);
  ReloadPlan plan = plan_reload(config_, std::move(*result), control_->current(), config_path_);
  if (plan.discovery_notice) log_line(*plan.discovery_notice);
  if (plan.refusal) {
    log_line(*plan.refusal);
    return false;
  }
  auto token = control_token(plan.next);
  if (!token) {
    log_line("reload failed: " + config_path_ + ": " + token.error().message);
    return false;
  }
  if (plan.listen_notice) log_line(*plan.listen_notice);
  std::vector<std::string> tls_errors;
  auto tls = load_tls(plan.next, tls_errors);
  if (!tls) {
    log_line("reload failed; the running configuration and certificates stay in force:");
    for (const auto& e : tls_errors) log_line("  " + e);
    return false;
  }
  if (plan.control_notice) log_line(*plan.control_notice);
  if (!switch_access_log(plan.next)) return false;
  apply_reload(std::move(plan.next), std::move(*tls), std::move(*token));
  log_line("reloaded " + config_path_ + ": " + std::to_string(config_.endpoints.size()) + " endpoint(s); changed: " + changes,
           {{"file", config_path_}, {"changed", changes}});
  if (weight_notice) log_line(*weight_notice);
  return true;
}

void Server::apply_reload(config::Config next, TlsSetup tls, std::string token) {
  config_ = std::move(next);
  tls_ = std::move(tls);
  update_connection_budget(workers_.size(), true);
  api_->set_token(std::move(token));
  // Trimming may write the state; the reload does not wait for it (a ConfigMap may take a while).
  control_->set_history_limit(config_.history_limit, [](Result<void> saved) {
    if (!saved)
      log_line("reload: the history trimmed to history_limit is not stored yet (" + saved.error().message +
               "); the next change stores it");
  });
  health_->configure(config_.health, config_.endpoints, tls_.endpoints);
  configure_ejection();
  publish();
  if (discovery_) discovery_->reconfigure(*config_.discovery, config_.service.selector.to_string());
  set_log_format(config_.log_format);
}

void Server::reopen_access_log() {
  if (!access_log_ || access_log_->path().empty()) return log_line("SIGUSR1: no access log to reopen");
  if (auto r = access_log_->reopen(); !r)
    return log_line("SIGUSR1: access_log.path: " + r.error().message + "; the lines go on to the file open before");
  log_line("SIGUSR1: reopened the access log " + access_log_->path());
}

bool Server::switch_access_log(const config::Config& next) {
  const std::string& path = next.access_log.path;
  if (path == access_log_->path()) return true;
  if (auto r = access_log_->use(path); !r) {
    log_line("reload failed; the running configuration stays in force:");
    log_line("  " + config_path_ + ": access_log.path: " + r.error().message);
    return false;
  }
  log_line(path.empty() ? "reload: the access log is off" : "reload: the access log goes to " + path);
  return true;
}

void Server::begin_upgrade() {
  if (draining_ || upgrading_) {
    log_line(std::string("SIGUSR2 ignored: ") + (draining_ ? "canaryd is stopping" : "a hot upgrade is in progress"));
    return;
  }
  if (!upgrade_.configured()) {
    log_line("SIGUSR2 ignored: the demo cannot be upgraded");
    return;
  }
  if (::getpid() == 1) {
    // A container's init: when it exits, the kernel kills everything in the container, successor and all.
    log_line("SIGUSR2 ignored: canaryd is PID 1 (a container's init), and its exit would end the new process too");
    return;
  }
  upgrading_ = true;
  log_line("SIGUSR2: hot upgrade: pausing the control port and starting " + upgrade_.exe());
  // The successor loads the state: nothing may change it here from now on.
  quiesce_control([this] {
    if (!upgrading_) return;  // stopped meanwhile
    upgrade_.start(listening_, kUpgradeDeadline,
                   [this](Result<pid_t, UpgradeFailure> outcome) { on_upgrade_done(std::move(outcome)); });
  });
}

void Server::quiesce_control(std::function<void()> done) {
  control_server_->pause();
  // The successor drives the rollout from the state it loads; two drivers would race for each step.
  rollout_->stop();
  // A change already queued is answered before the successor reads the state: otherwise it could be
  // acknowledged here and missing there.
  control_->when_idle([this, done = std::move(done)]() mutable { asio::post(io_, std::move(done)); });
}

void Server::on_upgrade_done(Result<pid_t, UpgradeFailure> outcome) {
  upgrading_ = false;
  if (!outcome) {
    const UpgradeFailure& failure = outcome.error();
    log_line("hot upgrade failed: " + upgrade_.exe() +
             (failure.pid > 0 ? " (pid " + std::to_string(failure.pid) + ")" : "") + ": " + failure.why +
             "; this canaryd keeps serving");
    control_server_->resume();
    rollout_->start();
    return;
  }
  log_line("hot upgrade: the new canaryd (pid " + std::to_string(*outcome) + ") serves; draining");
  begin_drain(true);
}

void Server::begin_drain(bool handover) {
  draining_ = true;
  // The successor holds the control socket too; ours goes now, so that every call reaches it.
  if (handover) control_server_->stop();
  health_->stop();
  if (discovery_) discovery_->stop();
  if (state_watch_) state_watch_->stop();
  ejection_timer_.cancel();
  served_timer_.cancel();
  rollout_->stop();
  for (auto& w : workers_) w->drain(handover);
  drain_deadline_.expires_after(config_.timeouts.drain);
  drain_deadline_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    log_line("drain deadline passed; closing the remaining connections");
    for (auto& w : workers_) w->stop();
  });
}

void Server::worker_finished() {
  if (--workers_running_ > 0) return;
  drain_deadline_.cancel();
  signals_.cancel();
  if (control_server_) control_server_->stop();
  // A change whose write is under way is answered, and the state file whole, before the loop ends.
  control_->when_idle([this] {
    log_line("stopped");
    io_.stop();
  });
}

}  // namespace canaryd::proxy
