// Server::start and its steps: each subsystem built once, in the order that keeps a failed start from
// touching anything (the ports are checked before the state is loaded, the workers made before the
// listeners are bound).
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <thread>

#include <boost/asio/post.hpp>

#include "config/token_file.hpp"
#include "proxy/control/server.hpp"
#include "proxy/net/descriptor_limit.hpp"
#include "proxy/net/log.hpp"
#include "proxy/net/port_probe.hpp"
#include "proxy/net/resolve.hpp"
#include "proxy/net/sd_notify.hpp"
#include "weights/state_writer.hpp"

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
  s.affinity_salt = weights::random_affinity_salt();  // the configured canary's slice of users
  s.time = weights::Clock::now();
  return s;
}

std::string listen_field(std::size_t index) { return "listen[" + std::to_string(index) + "].address"; }

}  // namespace

Result<void, StartupError> Server::start() {
  set_log_format(config_.log_format);
  raise_descriptor_limit_once();
  // The ports first: a process that cannot have them must not touch the state either.
  auto sockets = plan_sockets();
  if (!sockets) return fail(std::move(sockets).error());
  if (auto r = load_state(); !r) return r;
  if (auto r = load_certificates(); !r) return r;
  if (auto r = make_discovery(); !r) return r;
  make_health_checks();
  if (auto r = make_workers(); !r) return r;
  if (auto r = open_listeners(*sockets); !r) return r;
  if (auto r = open_control_port(*sockets); !r) return r;
  start_serving();
  log_serving();
  announce_ready(sockets->inherited);
  return {};
}

void Server::raise_descriptor_limit_once() {
  const DescriptorLimit fds = raise_descriptor_limit();
  descriptor_limit_ = fds.now;
  if (!fds.error.empty()) log_line("cannot raise the file descriptor limit: " + fds.error);
  if (fds.now != fds.before)
    log_line("raised the file descriptor limit (RLIMIT_NOFILE) from " + std::to_string(fds.before) + " to " +
             std::to_string(fds.now));
}

Result<Server::Sockets, StartupError> Server::plan_sockets() {
  const std::string& src = config_.source;
  Sockets out;
  auto taken = take_inherited_sockets();
  if (!taken) return fail(StartupError{src + ": listen: " + taken.error().message});
  out.inherited = std::move(*taken);
  for (std::size_t li = 0; li < config_.listen.size(); ++li) {
    auto ep = resolve_host_port(config_.listen[li].address);
    if (!ep) return fail(StartupError{src + ": " + listen_field(li) + ": " + ep.error().message});
    out.listen.push_back(*ep);
  }
  auto ep = resolve_host_port(config_.control.address);
  if (!ep) return fail(StartupError{src + ": control.address: " + ep.error().message});
  out.control = *ep;
  out.plan = match_inherited(out.inherited.sockets, out.listen, out.control);
  for (const auto* s : out.plan.unmatched) {
    // systemd's sockets are the operator's promise of what the config serves; the predecessor's follow
    // its config, which may have changed since (that is what a restart is for).
    if (!out.inherited.upgrade)
      return fail(StartupError{src + ": listen: " + endpoint_text(s->local) + ": a socket passed by " +
                               out.inherited.source + " matches no listen entry nor control.address"});
    log_line("closing the socket on " + endpoint_text(s->local) + " passed by " + out.inherited.source +
             ": no longer in " + src);
    ::close(s->fd);
  }
  // Our own listeners share their ports through SO_REUSEPORT, which would as well share them with any
  // other process of this user that did the same (a second canaryd): every address we are to bind is
  // checked first, so that nothing is bound when one of them is taken.
  for (std::size_t li = 0; li < out.listen.size(); ++li) {
    if (!out.plan.listen[li].empty()) continue;
    if (auto probe = probe_listen_address(out.listen[li]); !probe)
      return fail(StartupError{src + ": " + listen_field(li) + ": " + endpoint_text(out.listen[li]) + ": " +
                               probe.error().message});
  }
  if (out.plan.control < 0)
    if (auto probe = probe_listen_address(out.control); !probe)
      return fail(StartupError{src + ": control.address: " + endpoint_text(out.control) + ": " + probe.error().message});
  return out;
}

Result<std::string> Server::control_token(const config::Config& config) {
  if (config.control.token_file.empty()) return std::string();
  auto token = config::read_token_file(config.control.token_file, config::TokenFileAccess::Private);
  if (!token) return fail("control.token_file: " + config.control.token_file + ": " + token.error().message);
  return std::move(*token);
}

Result<std::unique_ptr<KubeClient>, StartupError> Server::make_kube() const {
  auto client = make_kube_client(*config_.discovery);
  if (!client) return fail(StartupError{config_.source + ": discovery.kubernetes: " + client.error().message});
  return std::move(*client);
}

Result<std::unique_ptr<weights::StateBackend>, StartupError> Server::make_state_backend() {
  if (config_.state_configmap.empty()) {
    weights::StateStore store(config_.state_file);
    if (auto n = store.remove_stale_temporaries())
      log_line("removed " + std::to_string(n) + " temporary file(s) left beside " + config_.state_file + " by a crash");
    // Written on a thread of its own: the main thread serves on while a change is made durable.
    return std::unique_ptr<weights::StateBackend>(std::make_unique<weights::ThreadedFileBackend>(
        std::move(store), [this](std::function<void()> done) { asio::post(io_, std::move(done)); }));
  }
  auto client = make_kube();
  if (!client) return fail(std::move(client).error());
  auto cm = std::make_unique<ConfigMapStateBackend>(io_, std::move(*client), config_.discovery->namespace_name,
                                                    config_.state_configmap);
  configmap_ = cm.get();
  return std::unique_ptr<weights::StateBackend>(std::move(cm));
}

Result<weights::RoutingHistory, StartupError> Server::load_history(weights::StateBackend& backend) {
  // The stored state wins over the config's initial selectors and weight.
  const std::string& src = config_.source;
  const bool shared = !config_.state_configmap.empty();
  const std::string state_field = shared ? "state.kubernetes_configmap" : "state_file";
  const std::string state_name = shared ? config_.discovery->namespace_name + "/" + config_.state_configmap
                                        : config_.state_file;
  auto loaded = backend.load(config_.history_limit);
  std::optional<weights::RoutingHistory> history;
  if (loaded && !*loaded) {
    // First start: the config's initial state. Another replica may create it at the same moment; then
    // its state is the one in force.
    history.emplace(initial_state(config_), config_.history_limit);
    const auto saved = backend.save(*history);
    if (!saved && saved.error().kind == weights::SaveError::Kind::Failed)
      return fail(StartupError{src + ": " + state_field + ": " + saved.error().message});
    if (!saved) {
      history.reset();
      loaded = backend.load(config_.history_limit);
    }
  }
  if (!loaded) return fail(StartupError{src + ": " + state_field + ": " + loaded.error().message});
  if (history) return std::move(*history);
  if (!*loaded)
    return fail(StartupError{src + ": " + state_field + ": " + state_name + ": created by another replica, then gone"});
  const auto& cur = (*loaded)->current();
  if (cur.canary && !weights::sets_disjoint(config_.service.selector, cur.stable, *cur.canary))
    return fail(StartupError{src + ": " + state_field + ": " + state_name +
                             ": its stable and canary sets overlap under service.selector"});
  return std::move(**loaded);
}

Result<void, StartupError> Server::load_state() {
  auto backend = make_state_backend();
  if (!backend) return fail(std::move(backend).error());
  auto history = load_history(**backend);
  if (!history) return fail(std::move(history).error());
  auto token = control_token(config_);
  if (!token) return fail(StartupError{config_.source + ": " + token.error().message});
  control_ = std::make_unique<weights::ControlService>(std::move(*history), std::move(*backend));
  control_->set_on_change([this](const weights::RoutingState&) {
    if (rollout_) rollout_->before_publish();
    publish_routing_state();
  });
  api_ = std::make_unique<weights::ControlApi>(*control_, *token, [this] { return service_view(); });
  rollout_ = std::make_unique<RolloutDriver>(
      io_, *control_, [this] { return service_view(); },
      [this] { return sum_rollout_evidence(workers_); },
      replica_identity(configmap_ != nullptr));
  api_->set_rollout_hooks({[this] { return config_.rollout; }, [this] { return rollout_->live(); },
                           rollout_->identity()});
  // Read at each call: a reload's routing rules count at once.
  api_->set_explain_rules([this] { return weights::explain_rules(config_.routing); });
  if (configmap_) {
    auto client = make_kube();
    if (!client) return fail(std::move(client).error());
    state_watch_ = std::make_unique<ConfigMapStateWatch>(io_, std::move(*client), config_.discovery->namespace_name,
                                                         *configmap_, *control_);
  }
  return {};
}

Result<void, StartupError> Server::load_certificates() {
  std::vector<std::string> errors;
  auto tls = load_tls(config_, errors);
  if (!tls) return fail(StartupError{errors.front()});
  tls_ = std::move(*tls);
  return {};
}

Result<void, StartupError> Server::make_discovery() {
  if (!config_.discovery) return {};
  auto client = make_kube();
  if (!client) return fail(std::move(client).error());
  discovery_ = std::make_unique<KubeDiscovery>(
      io_, std::move(*client), *config_.discovery, config_.service.selector.to_string(),
      [this](std::vector<config::Endpoint> endpoints) { on_discovered(std::move(endpoints)); });
  return {};
}

void Server::make_health_checks() {
  health_ = std::make_unique<HealthChecker>(io_, [this] { publish(); });
  health_->configure(config_.health, config_.endpoints, tls_.endpoints);
  configure_ejection();
}

Result<void, StartupError> Server::make_workers() {
  const unsigned threads = config_.threads ? config_.threads : std::max(1u, std::thread::hardware_concurrency());
  access_log_ = std::make_unique<AccessLogWriter>(threads);
  if (auto opened = access_log_->use(config_.access_log.path); !opened)
    return fail(StartupError{config_.source + ": access_log.path: " + opened.error().message});
  update_connection_budget(threads, true);
  snapshot_ = make_snapshot();
  auto report_streak = [this](const std::string& endpoint) {
    asio::post(io_, [this, endpoint] { on_failure_streak(endpoint); });
  };
  for (unsigned i = 0; i < threads; ++i)
    workers_.push_back(std::make_unique<Worker>(snapshot_, open_connections_, access_log_->buffers(i), report_streak));
  return {};
}

Result<void, StartupError> Server::open_listeners(const Sockets& sockets) {
  const std::string& src = config_.source;
  for (std::size_t li = 0; li < sockets.listen.size(); ++li) {
    const auto& fds = sockets.plan.listen[li];
    if (!fds.empty()) {
      // Every passed socket gets a worker; a worker beyond their number accepts on a duplicate.
      const auto shares = share_sockets(fds.size(), workers_.size());
      std::vector<bool> given(fds.size(), false);
      for (std::size_t w = 0; w < workers_.size(); ++w) {
        for (std::size_t i : shares[w]) {
          int fd = given[i] ? ::fcntl(fds[i], F_DUPFD_CLOEXEC, 3) : fds[i];
          if (fd < 0)
            return fail(StartupError{src + ": " + listen_field(li) + ": cannot duplicate a passed socket: " +
                                     std::strerror(errno)});
          given[i] = true;
          workers_[w]->adopt(fd, li);
        }
      }
      bound_.push_back(socket_local_endpoint(fds.front()));
      continue;
    }
    try {
      // The first worker may be given port 0; the others then bind the port it got.
      auto bound = workers_[0]->listen(sockets.listen[li], li);
      for (std::size_t i = 1; i < workers_.size(); ++i) workers_[i]->listen(bound, li);
      bound_.push_back(bound);
    } catch (const boost::system::system_error& e) {
      return fail(StartupError{src + ": " + listen_field(li) + ": cannot listen on " +
                               config_.listen[li].address.to_string() + ": " + e.code().message()});
    }
  }
  for (const auto& w : workers_)
    for (auto [fd, index] : w->listening_sockets()) listening_.push_back({fd, "listen", index});
  return {};
}

Result<void, StartupError> Server::open_control_port(const Sockets& sockets) {
  try {
    tcp::acceptor acceptor(io_);
    if (sockets.plan.control >= 0) {
      acceptor.assign(socket_local_endpoint(sockets.plan.control).protocol(), sockets.plan.control);
    } else {
      acceptor.open(sockets.control.protocol());
      acceptor.set_option(asio::socket_base::reuse_address(true));
      acceptor.bind(sockets.control);
      acceptor.listen(asio::socket_base::max_listen_connections);
    }
    control_server_ = std::make_unique<ControlServer>(io_, std::move(acceptor),
                                                      [this](ControlRequest r, std::function<void(ControlReply)> done) {
                                                        handle_control(std::move(r), std::move(done));
                                                      });
  } catch (const boost::system::system_error& e) {
    return fail(StartupError{config_.source + ": control.address: cannot listen on " +
                             config_.control.address.to_string() + ": " + e.code().message()});
  }
  listening_.push_back({control_server_->native_handle(), "control", 0});
  return {};
}

void Server::start_serving() {
  std::signal(SIGPIPE, SIG_IGN);
  signals_.add(SIGHUP);
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.add(SIGUSR2);
  signals_.add(SIGUSR1);
  wait_signals();
  control_server_->start();
  workers_running_ = static_cast<unsigned>(workers_.size());
  for (auto& w : workers_) w->start([this] { asio::post(io_, [this] { worker_finished(); }); });
  if (discovery_) discovery_->start();
  if (state_watch_) state_watch_->start();
  sample_served();
  rollout_->start();
}

void Server::log_serving() const {
  std::string where;
  for (const auto& b : bound_) where += (where.empty() ? "" : ", ") + b.address().to_string() + ":" + std::to_string(b.port());
  const auto& cur = control_->current();
  log_line("canaryd " CANARYD_VERSION " serving on " + where + " with " + std::to_string(workers_.size()) +
           " worker(s); control on " + config_.control.address.to_string() + "; revision " +
           std::to_string(cur.revision) + ", canary weight " + config::format_weight(snapshot_->canary_weight) +
           "%; max_connections " + (snapshot_->max_connections ? std::to_string(snapshot_->max_connections) : "unlimited"));
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

}  // namespace canaryd::proxy
