// Active health probes (see health_checker.hpp): one GET per endpoint and interval over plain TCP or TLS,
// thresholds applied, changes logged and published.
#include "proxy/control/health_checker.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "proxy/net/descriptor_shortage.hpp"
#include "proxy/control/endpoint_health.hpp"
#include "proxy/net/flex_stream.hpp"
#include "proxy/net/log.hpp"
#include "proxy/net/resolve.hpp"
#include "proxy/net/no_throw.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

struct ProbeResult {
  ProbeResult(bool ok_, std::string detail_) : ok(ok_), detail(std::move(detail_)) {}
  explicit ProbeResult(boost::system::error_code shortage_) : shortage(shortage_) {}

  bool ok = false;
  std::string detail;  ///< why it failed, for the log line
  /// Set when canaryd could not open the probe's connection for want of descriptors: the probe did
  /// not run, and says nothing about the endpoint.
  boost::system::error_code shortage;
};

constinit ShortageReport probe_shortage("opening a health probe connection to ");

// One probe: connect, GET, read the status line and header; 2xx and 3xx count as healthy. The whole
// exchange shares one deadline.
asio::awaitable<ProbeResult> probe_once(const config::HostPort& address, const UpstreamTls* tls,
                                        const std::string& path, std::chrono::milliseconds timeout) {
  auto endpoint = resolve_host_port(address);
  if (!endpoint) co_return ProbeResult{false, endpoint.error().message};
  FlexStream stream(co_await asio::this_coro::executor);
  stream.tcp().expires_after(timeout);
  auto [cec] = co_await stream.tcp().async_connect(*endpoint, kNoThrow);
  if (is_descriptor_shortage(cec)) co_return ProbeResult{cec};
  if (cec) co_return ProbeResult{false, "connect: " + cec.message()};
  if (tls) {
    // The same checks as the data path's connections: a certificate it would refuse fails the probe.
    stream.start_tls(*tls->context);
    if (auto prepared = prepare_upstream_tls(stream.tls().native_handle(), *tls); !prepared)
      co_return ProbeResult{false, prepared.error().message};
    stream.tcp().expires_after(timeout);
    auto [hec] = co_await stream.tls().async_handshake(asio::ssl::stream_base::client, kNoThrow);
    if (hec) co_return ProbeResult{false, "TLS handshake: " + hec.message()};
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + address.to_string() +
                              "\r\nUser-Agent: canaryd-health\r\nConnection: close\r\n\r\n";
  auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(request), kNoThrow);
  if (wec) co_return ProbeResult{false, "write: " + wec.message()};
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;
  parser.skip(true);  // the body does not matter, only the status
  auto [rec, rn] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
  if (rec) co_return ProbeResult{false, "read: " + rec.message()};
  const unsigned status = parser.get().result_int();
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (status >= 200 && status < 400) co_return ProbeResult{true, {}};
  co_return ProbeResult{false, "status " + std::to_string(status)};
}

}  // namespace

struct HealthChecker::Probe {
  Probe(asio::io_context& io, config::HostPort a, std::shared_ptr<const UpstreamTls> t)
      : address(std::move(a)), tls(std::move(t)), timer(io) {}
  config::HostPort address;
  std::shared_ptr<const UpstreamTls> tls;
  EndpointHealth health;
  asio::steady_timer timer;
  bool stopped = false;
};

HealthChecker::HealthChecker(asio::io_context& io, std::function<void()> on_change)
    : io_(io), on_change_(std::move(on_change)) {}

HealthChecker::~HealthChecker() { stop(); }

void HealthChecker::stop() {
  for (auto& [name, probe] : probes_) {
    probe->stopped = true;
    probe->timer.cancel();
  }
  probes_.clear();
}

void HealthChecker::configure(const std::optional<config::HealthCheck>& settings,
                              const std::vector<config::Endpoint>& endpoints,
                              const std::vector<std::shared_ptr<const UpstreamTls>>& tls) {
  // Every loop restarts with the new settings; the health of endpoints that stay carries over.
  std::map<std::string, std::shared_ptr<Probe>> next;
  bool changed = false;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const auto& ep = endpoints[i];
    const std::string name = ep.address.to_string();
    auto probe = std::make_shared<Probe>(io_, ep.address, i < tls.size() ? tls[i] : nullptr);
    if (auto old = probes_.find(name); old != probes_.end()) probe->health = old->second->health;
    next.emplace(name, probe);
  }
  for (auto& [name, probe] : probes_) {
    // An endpoint that stays unhealthy while probing is switched off would otherwise never recover.
    if (!settings && !probe->health.healthy()) changed = true;
  }
  stop();
  if (settings) {
    probes_ = std::move(next);
    for (auto& [name, probe] : probes_) asio::co_spawn(io_, run(probe, *settings, on_change_), asio::detached);
  }
  if (changed && on_change_) on_change_();
}

bool HealthChecker::healthy(const std::string& address) const {
  auto it = probes_.find(address);
  return it == probes_.end() || it->second->health.healthy();
}

asio::awaitable<void> HealthChecker::run(std::shared_ptr<Probe> probe, config::HealthCheck settings,
                                         std::function<void()> on_change) {
  for (;;) {
    ProbeResult result = co_await probe_once(probe->address, probe->tls.get(), settings.path, settings.timeout);
    if (probe->stopped) co_return;
    if (result.shortage) {
      probe_shortage.note(result.shortage, probe->address.to_string() + " (the probe does not count)");
    } else if (probe->health.record(result.ok, settings.healthy_threshold, settings.unhealthy_threshold)) {
      log_line("endpoint " + probe->address.to_string() + " is now " +
                   (result.ok ? std::string("healthy") : "unhealthy (" + result.detail + ")"),
               {{"endpoint", probe->address.to_string()},
                {"health", result.ok ? "healthy" : "unhealthy"},
                {"detail", result.ok ? "" : result.detail}});
      if (on_change) on_change();
    }
    probe->timer.expires_after(settings.interval);
    co_await probe->timer.async_wait(kNoThrow);
    if (probe->stopped) co_return;
  }
}

}  // namespace canaryd::proxy
