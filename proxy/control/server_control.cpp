// The control port's answers: the probes (/healthz, /readyz, /metrics) from the process's own state,
// everything else to the control API, both routed by the one route table (weights/control_routes.hpp).
#include <chrono>

#include <boost/json/parse.hpp>

#include "proxy/control/control_response.hpp"
#include "proxy/control/metrics_exporter.hpp"
#include "proxy/control/server.hpp"
#include "proxy/net/log.hpp"
#include "weights/control_routes.hpp"

namespace canaryd::proxy {
namespace {

ControlReply text(int status, std::string body) {
  ControlReply r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

/// The "error" member of an error answer's JSON body, "" when there is none.
std::string error_message(const std::string& body) {
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(body, ec);
  if (ec || !doc.is_object()) return "";
  const boost::json::value* error = doc.get_object().if_contains("error");
  return error && error->is_string() ? std::string(error->get_string()) : "";
}

/// A call that changes nothing: any GET or HEAD, and the reads sent as a POST (explain).
bool is_read_call(const std::string& method, const std::string& path) {
  if (method == "GET" || method == "HEAD") return true;
  const weights::ControlRoute* route = weights::find_route(path, method);
  return route != nullptr && weights::is_read(route->call);
}

}  // namespace

void Server::audit(const ControlRequest& req, const std::string& path, int status,
                   const weights::ChangeFacts& facts, const std::string& body) {
  // Reads (status, history, explain) leave no line; a failed authentication does, whatever the method,
  // but at most one a second per source: the next line counts those left out.
  const bool read_only = is_read_call(req.method, path);
  if (read_only && status != 401) return;
  weights::AuditRecord record{req.remote, req.method + " " + path, status, facts.revision_before,
                              facts.revision_after, facts.cause, status == 200 ? "" : error_message(body), 0};
  if (status == 401) {
    const auto admitted = unauthorized_audit_.admit(req.remote, weights::AuditRateLimiter::Clock::now());
    if (!admitted) return;
    record.suppressed = *admitted;
  }
  log_line(weights::format_audit_line(record),
           {{"audit", "true", true},
            {"remote", record.remote},
            {"call", record.call},
            {"status", std::to_string(record.status), true},
            {"revision_before", std::to_string(record.revision_before), true},
            {"revision_after", std::to_string(record.revision_after), true},
            {"cause", record.cause},
            {"error", record.error}});
}

void Server::handle_control(ControlRequest req, std::function<void(ControlReply)> done) {
  const std::string path = req.target.substr(0, req.target.find('?'));
  const bool read_only = is_read_call(req.method, path);
  if (const weights::ControlRoute* row = weights::find_path(path); row && weights::is_probe(row->call)) {
    // A HEAD arrives as GET (ControlServer); the table lists GET.
    const weights::ControlRoute* route = weights::find_route(path, read_only ? "GET" : req.method);
    if (route == nullptr) {
      ControlReply r = text(405, "method not allowed\n");
      r.allow = weights::allowed_methods(path);
      return done(std::move(r));
    }
    if (route->call == weights::ControlCall::Readyz) return done(readiness());
    if (route->call == weights::ControlCall::Metrics) return done(metrics());
    return done(text(200, "ok\n"));
  }
  if (upgrading_ && !read_only) {
    // The successor reads the state once the queue is empty: a change taken now could be acknowledged
    // here and be missing there. The caller retries against the successor.
    ControlReply r = control_error(503, "a hot upgrade is under way; try again in a moment");
    r.headers.emplace_back("Retry-After", "1");
    const std::uint64_t revision = control_->current().revision;
    audit(req, path, r.status, weights::ChangeFacts{revision, revision, ""}, r.body);
    return done(std::move(r));
  }
  handle_api(std::move(req), std::move(done));
}

ControlReply Server::readiness() const {
  if (draining_) return text(503, "draining\n");
  // With discovery, the detail line says where the endpoints come from, and whether the API server
  // still answers (canaryd then serves the pods it knew last and stays ready).
  const std::string detail = discovery_ ? discovery_->describe() + "\n" : "";
  if (discovery_ && !discovery_->synced()) return text(503, "waiting for the first pod list\n" + detail);
  for (const auto& ep : snapshot_->set(SetKind::Stable))
    if (ep.healthy) return text(200, "ok\n" + detail);
  return text(503, "no healthy stable endpoint\n" + detail);
}

ControlReply Server::metrics() const {
  DiscoveryMetrics dm;
  if (discovery_) dm = DiscoveryMetrics{discovery_->reachable(), discovery_->lists()};
  RolloutMetrics rollout;
  if (const auto& record = control_->current().rollout) {
    rollout.phase = weights::phase_name(record->phase);
    rollout.step = record->step;
  }
  rollout.aborts = rollout_->aborts();
  const weights::RoutingState& current = control_->current();
  const config::Selector& service = config_.service.selector;
  StateMetrics state;
  state.sets.push_back({"stable", config::Selector::conjunction(service, current.stable).to_string()});
  if (current.canary) state.sets.push_back({"canary", config::Selector::conjunction(service, *current.canary).to_string()});
  state.last_change_seconds =
      std::chrono::duration<double>(current.time.time_since_epoch()).count();
  state.reloads = reloads_;
  ControlReply r = text(200, render_metrics(workers_, *snapshot_, rollout, discovery_ ? &dm : nullptr, state,
                                            access_log_->dropped()));
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

void Server::handle_api(ControlRequest req, std::function<void(ControlReply)> done) {
  std::string path = req.target.substr(0, req.target.find('?'));
  // What the audit line needs once the answer is known (the request itself moves on to the API).
  ControlRequest audited{req.method, "", "", "", req.remote};
  // A change answers once it is stored: the reply comes later, and the thread serves on meanwhile.
  api_->handle(weights::ApiRequest{std::move(req.method), std::move(req.target), std::move(req.body),
                                   std::move(req.authorization)},
               weights::Clock::now(),
               [this, audited = std::move(audited), path = std::move(path), done = std::move(done)](weights::ApiReply reply) {
                 const std::uint64_t revision = control_->current().revision;
                 audit(audited, path, reply.status, reply.change.value_or(weights::ChangeFacts{revision, revision, ""}),
                       reply.body);
                 ControlReply r;
                 r.status = reply.status;
                 r.body = std::move(reply.body);
                 if (reply.status == 405) r.allow = weights::allowed_methods(path);
                 if (reply.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"canaryd\"");
                 done(std::move(r));
               });
}

}  // namespace canaryd::proxy
