#include "proxy/control/server.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <thread>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include "config/duration.hpp"
#include "config/token_file.hpp"
#include "proxy/control/control_response.hpp"
#include "proxy/net/descriptor_limit.hpp"
#include "proxy/net/log.hpp"
#include "proxy/control/metrics_exporter.hpp"
#include "proxy/net/port_probe.hpp"
#include "proxy/net/resolve.hpp"
#include "proxy/net/sd_notify.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

weights::RoutingState initial_state(const config::Config& cfg) {
  weights::RoutingState s;
  s.revision = 1;
  s.stable = cfg.service.stable;
  s.canary = cfg.service.canary;
  s.canary_weight = cfg.service.canary ? cfg.service.canary_weight : 0;
  s.cause = "initial configuration";
  s.time = weights::Clock::now();
  return s;
}

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

std::optional<StartupError> Server::plan_sockets(Inheritance& inherited, SocketPlan& plan,
                                                 std::vector<tcp::endpoint>& listen, tcp::endpoint& control) {
  const std::string& src = config_.source;
  std::string error;
  auto taken = take_inherited_sockets(error);
  if (!taken) return StartupError{src + ": listen: " + error};
  inherited = std::move(*taken);
  for (std::size_t li = 0; li < config_.listen.size(); ++li) {
    auto ep = resolve_host_port(config_.listen[li].address, error);
    if (!ep) return StartupError{src + ": listen[" + std::to_string(li) + "].address: " + error};
    listen.push_back(*ep);
  }
  auto ep = resolve_host_port(config_.control.address, error);
  if (!ep) return StartupError{src + ": control.address: " + error};
  control = *ep;
  plan = match_inherited(inherited.sockets, listen, control);
  for (const auto* s : plan.unmatched) {
    // systemd's sockets are the operator's promise of what the config serves; the predecessor's follow
    // its config, which may have changed since (that is what a restart is for).
    if (!inherited.upgrade)
      return StartupError{src + ": listen: " + endpoint_text(s->local) + ": a socket passed by " + inherited.source +
                          " matches no listen entry nor control.address"};
    log_line("closing the socket on " + endpoint_text(s->local) + " passed by " + inherited.source +
             ": no longer in " + src);
    ::close(s->fd);
  }
  // Our own listeners share their ports through SO_REUSEPORT, which would as well share them with any
  // other process of this user that did the same (a second canaryd): every address we are to bind is
  // checked first, so that nothing is bound when one of them is taken.
  for (std::size_t li = 0; li < listen.size(); ++li) {
    if (!plan.listen[li].empty()) continue;
    if (auto problem = probe_listen_address(listen[li]))
      return StartupError{src + ": listen[" + std::to_string(li) + "].address: " + endpoint_text(listen[li]) + ": " + *problem};
  }
  if (plan.control < 0)
    if (auto problem = probe_listen_address(control))
      return StartupError{src + ": control.address: " + endpoint_text(control) + ": " + *problem};
  return std::nullopt;
}

std::optional<StartupError> Server::open_listeners(const SocketPlan& plan, const std::vector<tcp::endpoint>& listen,
                                                   const tcp::endpoint& control) {
  const std::string& src = config_.source;
  for (std::size_t li = 0; li < listen.size(); ++li) {
    const std::string field = "listen[" + std::to_string(li) + "].address";
    const auto& fds = plan.listen[li];
    if (!fds.empty()) {
      // Every passed socket gets a worker; a worker beyond their number accepts on a duplicate.
      const auto shares = share_sockets(fds.size(), workers_.size());
      std::vector<bool> given(fds.size(), false);
      for (std::size_t w = 0; w < workers_.size(); ++w) {
        for (std::size_t i : shares[w]) {
          int fd = given[i] ? ::fcntl(fds[i], F_DUPFD_CLOEXEC, 3) : fds[i];
          if (fd < 0) return StartupError{src + ": " + field + ": cannot duplicate a passed socket: " + std::strerror(errno)};
          given[i] = true;
          workers_[w]->adopt(fd, li);
        }
      }
      bound_.push_back(socket_local_endpoint(fds.front()));
      continue;
    }
    try {
      // The first worker may be given port 0; the others then bind the port it got.
      auto bound = workers_[0]->listen(listen[li], li);
      for (std::size_t i = 1; i < workers_.size(); ++i) workers_[i]->listen(bound, li);
      bound_.push_back(bound);
    } catch (const boost::system::system_error& e) {
      return StartupError{src + ": " + field + ": cannot listen on " + config_.listen[li].address.to_string() + ": " +
                          e.code().message()};
    }
  }
  for (const auto& w : workers_)
    for (auto [fd, index] : w->listening_sockets()) listening_.push_back({fd, "listen", index});

  try {
    tcp::acceptor acceptor(io_);
    if (plan.control >= 0) {
      acceptor.assign(socket_local_endpoint(plan.control).protocol(), plan.control);
    } else {
      acceptor.open(control.protocol());
      acceptor.set_option(asio::socket_base::reuse_address(true));
      acceptor.bind(control);
      acceptor.listen(asio::socket_base::max_listen_connections);
    }
    control_server_ = std::make_unique<ControlServer>(io_, std::move(acceptor),
                                                      [this](ControlRequest r, std::function<void(ControlReply)> done) {
                                                        handle_control(std::move(r), std::move(done));
                                                      });
  } catch (const boost::system::system_error& e) {
    return StartupError{src + ": control.address: cannot listen on " + config_.control.address.to_string() + ": " +
                        e.code().message()};
  }
  listening_.push_back({control_server_->native_handle(), "control", 0});
  return std::nullopt;
}

void Server::announce_ready(const Inheritance& inherited) {
  if (!inherited.source.empty())
    log_line("serving on the listening sockets passed by " + inherited.source);
  // Posted: they run once the loop runs, that is when the control port answers /healthz.
  const int ready_fd = inherited.ready_fd;
  const bool upgrade = inherited.upgrade;
  asio::post(io_, [ready_fd, upgrade] {
    if (ready_fd >= 0) {
      [[maybe_unused]] auto n = ::write(ready_fd, "ready\n", 6);
      ::close(ready_fd);
    }
    // The successor of a hot upgrade becomes the unit's main process (Type=notify, NotifyAccess=all).
    notify_systemd(upgrade ? "MAINPID=" + std::to_string(::getpid()) + "\nREADY=1" : std::string("READY=1"));
  });
}

std::optional<StartupError> Server::start() {
  const std::string& src = config_.source;
  {
    const DescriptorLimit fds = raise_descriptor_limit();
    descriptor_limit_ = fds.now;
    if (!fds.error.empty()) log_line("cannot raise the file descriptor limit: " + fds.error);
    if (fds.now != fds.before)
      log_line("raised the file descriptor limit (RLIMIT_NOFILE) from " + std::to_string(fds.before) + " to " +
               std::to_string(fds.now));
  }

  // The ports first: a process that cannot have them must not touch the state either.
  Inheritance inherited;
  SocketPlan plan;
  std::vector<tcp::endpoint> listen_eps;
  tcp::endpoint control_ep;
  if (auto err = plan_sockets(inherited, plan, listen_eps, control_ep)) return err;

  // Routing state: the stored one wins over the config's initial selectors and weight.
  std::unique_ptr<weights::StateBackend> backend;
  const bool shared = !config_.state_configmap.empty();
  const std::string state_field = shared ? "state.kubernetes_configmap" : "state_file";
  const std::string state_name = shared ? config_.discovery->namespace_name + "/" + config_.state_configmap
                                        : config_.state_file;
  if (shared) {
    std::string error;
    auto client = make_kube_client(*config_.discovery, error);
    if (!client) return StartupError{src + ": discovery.kubernetes: " + error};
    auto cm = std::make_unique<ConfigMapStateBackend>(io_, std::move(client), config_.discovery->namespace_name,
                                                      config_.state_configmap);
    configmap_ = cm.get();
    backend = std::move(cm);
  } else {
    weights::StateStore store(config_.state_file);
    if (auto n = store.remove_stale_temporaries())
      log_line("removed " + std::to_string(n) + " temporary file(s) left beside " + config_.state_file + " by a crash");
    backend = std::make_unique<weights::FileStateBackend>(std::move(store));
  }
  auto loaded = backend->load(config_.history_limit);
  std::optional<weights::RoutingHistory> history;
  if (loaded && !*loaded) {
    // First start: the config's initial state. Another replica may create it at the same moment; then
    // its state is the one in force.
    history.emplace(initial_state(config_), config_.history_limit);
    const auto saved = backend->save(*history);
    if (!saved && saved.error().kind == weights::SaveError::Kind::Failed)
      return StartupError{src + ": " + state_field + ": " + saved.error().message};
    if (!saved) {
      history.reset();
      loaded = backend->load(config_.history_limit);
    }
  }
  if (!loaded) return StartupError{src + ": " + state_field + ": " + loaded.error().message};
  if (!history) {
    if (!*loaded)
      return StartupError{src + ": " + state_field + ": " + state_name + ": created by another replica, then gone"};
    history = std::move(*loaded);
    const auto& cur = history->current();
    if (cur.canary && !weights::sets_disjoint(config_.service.selector, cur.stable, *cur.canary))
      return StartupError{src + ": " + state_field + ": " + state_name +
                          ": its stable and canary sets overlap under service.selector"};
  }

  std::string token;
  if (!config_.control.token_file.empty()) {
    auto t = config::read_token_file(config_.control.token_file, config::TokenFileAccess::Private);
    if (!t) return StartupError{src + ": control.token_file: " + config_.control.token_file + ": " + t.error().message};
    token = *t;
  }

  control_ = std::make_unique<weights::ControlService>(std::move(*history), std::move(backend));
  control_->set_on_change([this](const weights::RoutingState&) { publish(); });
  api_ = std::make_unique<weights::ControlApi>(*control_, token, [this] { return service_view(); });

  {
    std::vector<std::string> errors;
    auto tls = load_tls(config_, errors);
    if (!tls) return StartupError{errors.front()};
    tls_ = std::move(*tls);
  }
  if (config_.discovery) {
    std::string error;
    auto client = make_kube_client(*config_.discovery, error);
    if (!client) return StartupError{src + ": discovery.kubernetes: " + error};
    discovery_ = std::make_unique<KubeDiscovery>(
        io_, std::move(client), *config_.discovery, config_.service.selector.to_string(),
        [this](std::vector<config::Endpoint> endpoints) { on_discovered(std::move(endpoints)); });
  }
  health_ = std::make_unique<HealthChecker>(io_, [this] { publish(); });
  health_->configure(config_.health, config_.endpoints, tls_.endpoints);
  configure_ejection();
  unsigned threads = config_.threads ? config_.threads : std::max(1u, std::thread::hardware_concurrency());
  update_connection_budget(threads, true);
  snapshot_ = make_snapshot();

  auto report_streak = [this](const std::string& endpoint) {
    asio::post(io_, [this, endpoint] { on_failure_streak(endpoint); });
  };
  for (unsigned i = 0; i < threads; ++i)
    workers_.push_back(std::make_unique<Worker>(snapshot_, open_connections_, report_streak));
  if (auto err = open_listeners(plan, listen_eps, control_ep)) return err;

  std::signal(SIGPIPE, SIG_IGN);
  signals_.add(SIGHUP);
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGUSR2);
  wait_signals();
  control_server_->start();
  workers_running_ = static_cast<unsigned>(workers_.size());
  for (auto& w : workers_) w->start([this] { asio::post(io_, [this] { worker_finished(); }); });
  if (discovery_) discovery_->start();
  if (configmap_) {
    std::string error;
    auto client = make_kube_client(*config_.discovery, error);
    if (!client) return StartupError{src + ": discovery.kubernetes: " + error};
    state_watch_ = std::make_unique<ConfigMapStateWatch>(io_, std::move(client), config_.discovery->namespace_name,
                                                         *configmap_, *control_);
    state_watch_->start();
  }

  std::string where;
  for (const auto& b : bound_) where += (where.empty() ? "" : ", ") + b.address().to_string() + ":" + std::to_string(b.port());
  const auto& cur = control_->current();
  log_line("canaryd " CANARYD_VERSION " serving on " + where + " with " + std::to_string(workers_.size()) +
           " worker(s); control on " + config_.control.address.to_string() + "; revision " +
           std::to_string(cur.revision) + ", canary weight " + config::format_weight(snapshot_->canary_weight) +
           "%; max_connections " + (snapshot_->max_connections ? std::to_string(snapshot_->max_connections) : "unlimited"));
  announce_ready(inherited);
  return std::nullopt;
}

int Server::run() {
  io_.run();
  for (auto& w : workers_) w->join();
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
             std::to_string(config_.health->unhealthy_threshold) + " failed requests in a row");
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
    for (const auto& name : back) log_line("endpoint " + name + " returns after its ejection");
    if (!back.empty()) publish();
    schedule_ejection_expiry();
  });
}

void Server::publish() {
  snapshot_ = make_snapshot();
  for (auto& w : workers_) w->publish(snapshot_);
}

std::shared_ptr<const RoutingSnapshot> Server::make_snapshot() {
  std::vector<std::string> problems;
  auto snap = build_snapshot(config_, control_->current(), registry_, problems, is_healthy(), &tls_);
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
  return view;
}

void Server::handle_control(ControlRequest req, std::function<void(ControlReply)> done) {
  auto text = [](int status, std::string body) {
    ControlReply r;
    r.status = status;
    r.content_type = "text/plain";
    r.body = std::move(body);
    if (status == 405) r.allow = "GET, HEAD";
    return r;
  };
  std::string path = req.target.substr(0, req.target.find('?'));
  const bool read_only = req.method == "GET" || req.method == "HEAD";
  if (path == "/healthz") return done(read_only ? text(200, "ok\n") : text(405, "method not allowed\n"));
  if (path == "/readyz") {
    if (!read_only) return done(text(405, "method not allowed\n"));
    if (draining_) return done(text(503, "draining\n"));
    // With discovery, the detail line says where the endpoints come from, and whether the API server
    // still answers (canaryd then serves the pods it knew last and stays ready).
    const std::string detail = discovery_ ? discovery_->describe() + "\n" : "";
    if (discovery_ && !discovery_->synced()) return done(text(503, "waiting for the first pod list\n" + detail));
    for (const auto& ep : snapshot_->set(SetKind::Stable))
      if (ep.healthy) return done(text(200, "ok\n" + detail));
    return done(text(503, "no healthy stable endpoint\n" + detail));
  }
  if (path == "/metrics") {
    if (!read_only) return done(text(405, "method not allowed\n"));
    DiscoveryMetrics dm;
    if (discovery_) dm = DiscoveryMetrics{discovery_->reachable(), discovery_->lists()};
    ControlReply r = text(200, render_metrics(workers_, *snapshot_, discovery_ ? &dm : nullptr));
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return done(std::move(r));
  }
  if (upgrading_ && !read_only) {
    // The successor reads the state once the queue is empty: a change taken now could be acknowledged
    // here and be missing there. The caller retries against the successor.
    ControlReply r = control_error(503, "a hot upgrade is under way; try again in a moment");
    r.headers.emplace_back("Retry-After", "1");
    return done(std::move(r));
  }
  // A change answers once it is stored: the reply comes later, and the thread serves on meanwhile.
  api_->handle(weights::ApiRequest{std::move(req.method), std::move(req.target), std::move(req.body),
                                   std::move(req.authorization)},
               weights::Clock::now(), [path, done = std::move(done)](weights::ApiReply reply) {
                 ControlReply r;
                 r.status = reply.status;
                 r.body = std::move(reply.body);
                 if (reply.status == 405) r.allow = std::string(weights::allowed_methods(path));
                 if (reply.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"canaryd\"");
                 done(std::move(r));
               });
}

void Server::wait_signals() {
  signals_.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      reload();
    } else if (sig == SIGUSR2) {
      begin_upgrade();
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

void Server::reload() {
  if (config_path_.empty()) {
    log_line("SIGHUP: the demo has no config file to re-read");
    return;
  }
  auto result = config::load_config_file(config_path_);
  if (!result) {
    log_line("reload failed; the running configuration stays in force:");
    for (const auto& e : result.error()) log_line("  " + e);
    return;
  }
  config::Config next = std::move(*result);
  if (next.discovery.has_value() != config_.discovery.has_value() || next.state_configmap != config_.state_configmap) {
    log_line("reload failed: " + config_path_ +
             ": switching between endpoints and discovery.kubernetes, or moving the state, takes a restart");
    return;
  }
  if (next.discovery) {
    // The endpoints are the pods discovery knows; it keeps watching (a new namespace or selector relists).
    next.endpoints = config_.endpoints;
    if (next.discovery->api_server != config_.discovery->api_server ||
        next.discovery->kubeconfig != config_.discovery->kubeconfig)
      log_line("reload: discovery.kubernetes.api_server and kubeconfig take effect at the next restart");
  }
  const auto cur = control_->current();
  if (cur.canary && !weights::sets_disjoint(next.service.selector, cur.stable, *cur.canary)) {
    log_line("reload failed: " + config_path_ + ": service.selector: the current stable and canary sets would overlap");
    return;
  }
  if (next.control.token_file.empty() && !config_.control.token_file.empty()) {
    log_line("reload failed: " + config_path_ +
             ": control.token_file: a reload never turns the token requirement off; that takes a restart");
    return;
  }
  std::string token;
  if (!next.control.token_file.empty()) {
    auto t = config::read_token_file(next.control.token_file, config::TokenFileAccess::Private);
    if (!t) {
      log_line("reload failed: " + config_path_ + ": control.token_file: " + next.control.token_file + ": " +
               t.error().message);
      return;
    }
    token = *t;
  }
  // Listeners stay bound as they are; a listener keeps its place, so its TLS settings (a renewed
  // certificate, say) apply to the connections it accepts from now on.
  if (next.listen.size() != config_.listen.size() ||
      !std::equal(next.listen.begin(), next.listen.end(), config_.listen.begin(),
                  [](const auto& a, const auto& b) { return a.address == b.address; })) {
    log_line("reload: listen addresses changed; they take effect at the next restart");
    next.listen = config_.listen;
  }
  std::vector<std::string> tls_errors;
  auto tls = load_tls(next, tls_errors);
  if (!tls) {
    log_line("reload failed; the running configuration and certificates stay in force:");
    for (const auto& e : tls_errors) log_line("  " + e);
    return;
  }
  if (!(next.control.address == config_.control.address))
    log_line("reload: control.address changed; it takes effect at the next restart");
  next.control.address = config_.control.address;
  next.threads = config_.threads;
  next.state_file = config_.state_file;
  config_ = std::move(next);
  tls_ = std::move(*tls);
  update_connection_budget(workers_.size(), true);
  api_->set_token(token);
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
  log_line("reloaded " + config_path_ + ": " + std::to_string(config_.endpoints.size()) + " endpoint(s)");
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
                   [this](bool ready, pid_t pid, const std::string& why) { on_upgrade_done(ready, pid, why); });
  });
}

void Server::quiesce_control(std::function<void()> done) {
  control_server_->pause();
  // A change already queued is answered before the successor reads the state: otherwise it could be
  // acknowledged here and missing there.
  control_->when_idle([this, done = std::move(done)]() mutable { asio::post(io_, std::move(done)); });
}

void Server::on_upgrade_done(bool ready, pid_t pid, const std::string& why) {
  upgrading_ = false;
  if (!ready) {
    log_line("hot upgrade failed: " + upgrade_.exe() + (pid > 0 ? " (pid " + std::to_string(pid) + ")" : "") +
             ": " + why + "; this canaryd keeps serving");
    control_server_->resume();
    return;
  }
  log_line("hot upgrade: the new canaryd (pid " + std::to_string(pid) + ") serves; draining");
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
  log_line("stopped");
  io_.stop();
}

}  // namespace canaryd::proxy
