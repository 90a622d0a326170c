// The process: builds each subsystem once (state, control API, discovery, health, workers, ports),
// serves until a stop signal, and applies SIGHUP reloads and SIGUSR2 hot upgrades.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/config.hpp"
#include "config/result.hpp"
#include "proxy/control/connection_budget.hpp"
#include "proxy/control/control_server.hpp"
#include "proxy/control/health_checker.hpp"
#include "proxy/control/hot_upgrade.hpp"
#include "proxy/control/metrics_exporter.hpp"
#include "proxy/control/passive_ejection.hpp"
#include "proxy/control/rollout_driver.hpp"
#include "proxy/dataplane/access_log_writer.hpp"
#include "proxy/dataplane/routing_snapshot.hpp"
#include "proxy/dataplane/worker.hpp"
#include "proxy/kube/configmap_state_watch.hpp"
#include "proxy/kube/kube_client.hpp"
#include "proxy/kube/kube_discovery.hpp"
#include "proxy/net/inherited_sockets.hpp"
#include "proxy/net/tls_context.hpp"
#include "weights/audit_line.hpp"
#include "weights/control_api.hpp"
#include "weights/control_service.hpp"
#include "weights/served_share.hpp"

namespace canaryd::proxy {

/// A start-up failure: one line for stderr naming the file and field; the process exits 1.
struct StartupError {
  std::string message;
};

/// The process: owns the config, the routing state, the workers and the control server, and reacts
/// to signals. Everything here runs on the main thread.
class Server {
 public:
  /// `config_path` is re-read on SIGHUP; empty for the embedded demo config.
  Server(config::Config config, std::string config_path);
  ~Server();

  /// Loads the state, binds every port and starts the workers.
  Result<void, StartupError> start();
  /// Runs until SIGTERM/SIGINT and the drain that follows. Returns the exit status.
  int run();

  /// Before start(): what SIGUSR2 runs to upgrade (our binary's absolute path, resolved at start, and
  /// our arguments). Unset (the demo), SIGUSR2 is refused with a log line.
  void set_upgrade_command(std::string exe, std::vector<std::string> args) {
    upgrade_.set_command(std::move(exe), std::move(args));
  }

  boost::asio::io_context& io() { return io_; }
  /// Before start(): replaces the config (the demo builds its own once its upstreams are bound).
  void reset_config(config::Config config) { config_ = std::move(config); }
  /// The proxy's bound listen addresses (after port 0 was resolved).
  const std::vector<boost::asio::ip::tcp::endpoint>& listen_endpoints() const { return bound_; }

 private:
  /// What plan_sockets found: the resolved addresses, the sockets passed to us and which address each
  /// serves. Every address we are to bind was checked free.
  struct Sockets {
    Inheritance inherited;
    SocketPlan plan;
    std::vector<boost::asio::ip::tcp::endpoint> listen;
    boost::asio::ip::tcp::endpoint control;
  };

  // start()'s steps, in order (server_start.cpp).
  void raise_descriptor_limit_once();
  Result<Sockets, StartupError> plan_sockets();
  /// The routing state (file or ConfigMap, and its watch), the token, the control service and API.
  Result<void, StartupError> load_state();
  Result<void, StartupError> load_certificates();
  Result<void, StartupError> make_discovery();
  void make_health_checks();
  /// The workers, and the access log writer they hand their lines to (its file opened when configured).
  Result<void, StartupError> make_workers();
  Result<void, StartupError> open_listeners(const Sockets& sockets);
  Result<void, StartupError> open_control_port(const Sockets& sockets);
  void start_serving();
  void log_serving() const;
  void announce_ready(const Inheritance& inherited);

  /// The one place a Kubernetes API client is made. The shared state, its watch and discovery each get
  /// their own, as before: a watch that restarts ends every stream of its client.
  Result<std::unique_ptr<KubeClient>, StartupError> make_kube() const;
  Result<std::unique_ptr<weights::StateBackend>, StartupError> make_state_backend();
  Result<weights::RoutingHistory, StartupError> load_history(weights::StateBackend& backend);
  /// The control API's bearer token: the token file's, "" when the config names none. The error is
  /// "control.token_file: FILE: why", for start and reload to prefix.
  static Result<std::string> control_token(const config::Config& config);

  // The control port's answers (server_control.cpp).
  void handle_control(ControlRequest req, std::function<void(ControlReply)> done);
  ControlReply readiness() const;
  ControlReply metrics() const;
  /// An /api/ call (or an unknown path) for the control API; its 405 and 401 get their header fields.
  void handle_api(ControlRequest req, std::function<void(ControlReply)> done);
  /// Writes the audit line of a call that is not a read (contract section 7); a 401 at most once a
  /// second per source address.
  void audit(const ControlRequest& req, const std::string& path, int status, const weights::ChangeFacts& facts,
             const std::string& body);

  weights::ServiceView service_view() const;
  /// Builds the snapshot anew (config, health, ejection, TLS, discovery or state changed) and posts it.
  void publish();
  /// A routing state change, nothing else: when it keeps the sets, the snapshot is the current one with
  /// the new weight (with_routing_state); otherwise publish().
  void publish_routing_state();
  /// The snapshot for the current config and state, with the connection budget's limits.
  std::shared_ptr<const RoutingSnapshot> make_snapshot();
  /// Works out the connection budget again (start, reload, discovery); `announce`: warn when
  /// limits.max_connections asks for more than the descriptors allow.
  void update_connection_budget(std::size_t workers, bool announce);
  std::function<bool(const std::string&)> is_healthy() const;
  void on_failure_streak(const std::string& endpoint);
  void on_discovered(std::vector<config::Endpoint> endpoints);
  void configure_ejection();
  void schedule_ejection_expiry();
  /// Every ServedShare::kInterval: adds the workers' per-set request totals to the served share.
  void sample_served();
  void wait_signals();
  bool reload();  ///< true when the new config was applied
  /// Makes `next` (a reload's plan, its files read) the running configuration.
  void apply_reload(config::Config next, TlsSetup tls, std::string token);
  /// SIGUSR1: the access log file opened again (logrotate moved it).
  void reopen_access_log();
  /// A reload's access_log.path: switches the writer when it changed; false (logged) when the new
  /// file cannot be opened, and then nothing of the reload is applied.
  bool switch_access_log(const config::Config& next);
  void begin_upgrade();
  void on_upgrade_done(Result<pid_t, UpgradeFailure> outcome);
  /// Stops answering control calls that change the state, then runs `done`. (Pending state writes are
  /// to finish before `done`, so that the successor loads what this process last wrote.)
  void quiesce_control(std::function<void()> done);
  void begin_drain(bool handover = false);
  void worker_finished();

  config::Config config_;
  std::string config_path_;
  boost::asio::io_context io_{1};
  boost::asio::signal_set signals_{io_};
  boost::asio::steady_timer drain_deadline_{io_};
  EndpointRegistry registry_;
  std::shared_ptr<const RoutingSnapshot> snapshot_;
  /// The routing state's selectors snapshot_'s sets were matched with (make_snapshot).
  std::optional<SetSelectors> snapshot_selectors_;
  std::unique_ptr<weights::ControlService> control_;
  std::unique_ptr<weights::ControlApi> api_;
  std::unique_ptr<ControlServer> control_server_;
  std::unique_ptr<HealthChecker> health_;
  TlsSetup tls_;  ///< the contexts loaded for config_
  PassiveEjection ejection_;
  std::unique_ptr<KubeDiscovery> discovery_;
  ConfigMapStateBackend* configmap_ = nullptr;  ///< owned by control_, when the state is shared
  std::unique_ptr<ConfigMapStateWatch> state_watch_;  ///< made with the state, started with the workers
  boost::asio::steady_timer ejection_timer_{io_};
  weights::ServedShare served_;  ///< status' "served", sampled by served_timer_
  boost::asio::steady_timer served_timer_{io_};
  std::unique_ptr<RolloutDriver> rollout_;  ///< drives and judges the rollout in the routing state
  // Before workers_: a worker's destruction ends its unfinished sessions, which count themselves out here.
  std::atomic<std::int64_t> open_connections_{0};
  // Before workers_: each worker appends to its own ring of the writer's buffers until it is gone.
  std::unique_ptr<AccessLogWriter> access_log_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::uint64_t descriptor_limit_ = 0;  ///< RLIMIT_NOFILE, once raised at start
  ConnectionBudget budget_;
  std::vector<boost::asio::ip::tcp::endpoint> bound_;
  std::vector<HandedSocket> listening_;  ///< what a hot upgrade hands over
  HotUpgrade upgrade_{io_};
  bool upgrading_ = false;  ///< from SIGUSR2 until the successor is ready or failed
  ReloadCounts reloads_;  ///< canaryd_config_reloads_total{result}
  weights::AuditRateLimiter unauthorized_audit_;  ///< one 401 line per second per source
  unsigned workers_running_ = 0;
  bool draining_ = false;
};

}  // namespace canaryd::proxy
