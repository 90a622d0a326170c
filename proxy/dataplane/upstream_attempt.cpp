// Route hints and upstream connection attempts (see upstream_attempt.hpp).
#include "proxy/dataplane/upstream_attempt.hpp"

#include <memory>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include "proxy/http/resend_policy.hpp"
#include "proxy/net/descriptor_shortage.hpp"
#include "proxy/net/no_throw.hpp"
#include "weights/affinity.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace {

constinit ShortageReport upstream_shortage("opening an upstream connection (the request got 503)");

// TLS on a new upstream connection: SNI and the certificate's name are checked against the endpoint's
// settings, and the handshake shares the connect deadline. A failure is a connect failure.
asio::awaitable<error_code> start_upstream_tls(FlexStream& stream, const UpstreamTls& tls,
                                               std::chrono::milliseconds timeout) {
  stream.start_tls(*tls.context);
  if (!prepare_upstream_tls(stream.tls().native_handle(), tls))
    co_return make_error_code(asio::ssl::error::unspecified_system_error);
  stream.tcp().expires_after(timeout);
  auto [ec] = co_await stream.tls().async_handshake(asio::ssl::stream_base::client, kNoThrow);
  co_return ec;
}

}  // namespace

RouteHints request_route_hints(const RoutingSnapshot& snap, const RequestCheck& check, bool override_allowed,
                               std::string_view key_ip, std::mt19937_64& random, std::optional<CookieValue>& issued) {
  RouteHints hints;
  // Overrides count only from override_sources (the TCP peer's address, checked once per connection).
  if (override_allowed) {
    hints.forced = forced_set(check.has_override, check.override_value);
    hints.cookie = forced_set(check.override_cookie);
  }
  std::string_view key;
  if (snap.affinity_kind == AffinityKind::ClientIp)
    key = key_ip;
  else if (snap.affinity_kind != AffinityKind::None)
    key = check.affinity_key.value_or(std::string_view{});
  if (key.empty() && !snap.set_cookie.empty()) {
    // A client without the affinity cookie gets one, and is routed by it from this request on.
    issued = make_cookie_value(random(), random());
    key = issued->view();
  }
  if (!key.empty()) hints.bucket = weights::affinity_bucket(key, snap.affinity_salt);
  return hints;
}

SetChoice route_request(SessionContext& ctx, const RoutingSnapshot& snap, const RouteHints& hints, UpstreamAttempt& a) {
  const SetChoice choice = choose_set(snap, hints, ctx.splitter);
  ctx.metrics.record_decision(choice.set, choice.reason);
  if (choice.set == SetKind::None) return choice;
  if (choice.fell_back) ctx.metrics.record_fallback(choice.set == SetKind::Stable ? SetKind::Canary : SetKind::Stable);
  a.first_index = ctx.next_index(choice.set);
  a.connects_left = snap.retries + 1;
  return choice;
}

ClientResponseRewrite response_rewrite(const RoutingSnapshot& snap, const ResponseHead& response, SetKind chosen,
                                       weights::RouteReason reason, const std::optional<CookieValue>& issued) {
  ClientResponseRewrite rewrite;
  rewrite.via_entry = response.http10 ? kViaEntryHttp10 : kViaEntry;
  rewrite.set_header = snap.response_header;
  rewrite.set_name = kSetNames[static_cast<std::size_t>(chosen)];
  if (!snap.response_header.empty()) rewrite.reason = weights::reason_name(reason);
  if (issued) {
    rewrite.set_cookie_name = snap.set_cookie;
    rewrite.set_cookie_value = issued->view();
  }
  return rewrite;
}

asio::awaitable<bool> acquire_upstream(SessionContext& ctx, const RoutingSnapshot& snap, SetKind chosen,
                                       bool resend_safe, UpstreamAttempt& a) {
  const auto& set = snap.set(chosen);
  while (a.next_candidate < set.size() && a.connects_left > 0) {
    const auto& ep = set[(a.first_index + a.next_candidate) % set.size()];
    if (!ep.healthy) {
      ++a.next_candidate;
      continue;
    }
    if (auto pooled = ctx.pool.take(ep.id, resend_safe)) {
      a.connection = std::move(pooled);
      a.endpoint = &ep;
      a.reused = true;
      co_return true;
    }
    --a.connects_left;
    ++a.next_candidate;
    auto fresh = std::make_unique<FlexStream>(ctx.io.get_executor());
    fresh->tcp().expires_after(snap.timeouts.connect);
    auto [cec] = co_await fresh->tcp().async_connect(ep.address, kNoThrow);
    if (is_descriptor_shortage(cec)) {
      // Our own shortage, not the endpoint's failure: another endpoint would fare no better.
      upstream_shortage.note(cec);
      a.out_of_descriptors = true;
      co_return false;
    }
    if (!cec && ep.tls) cec = co_await start_upstream_tls(*fresh, *ep.tls, snap.timeouts.connect);
    if (!cec) {
      error_code ignored;
      fresh->socket().set_option(asio::ip::tcp::no_delay(true), ignored);
      fresh->socket().non_blocking(true, ignored);  // see write_all
      ctx.metrics.upstream_connections(+1);
      a.connection = std::move(fresh);
      a.endpoint = &ep;
      a.reused = false;
      co_return true;
    }
    ctx.metrics.record_upstream_error(chosen, UpstreamErrorKind::Connect);
    ctx.record_outcome(ep, true);
  }
  co_return false;
}

std::optional<LocalReply> after_failed_attempt(SessionContext& ctx, SetKind chosen, bool resend_safe,
                                               UpstreamAttempt& a, const error_code& send_error, bool send_failed,
                                               const error_code& head_error) {
  // The connection ended before one byte of a response: a pooled one the upstream closed just as we
  // reused it, or an endpoint going away (a pod stopping resets what it had not accepted yet).
  FailedAttempt failed;
  failed.resend_safe = resend_safe;
  failed.nothing_came_back = send_failed || head_error == http::error::end_of_stream ||
                             head_error == asio::error::connection_reset || head_error == asio::error::eof;
  failed.send_timed_out = send_error == beast::error::timeout;
  failed.reused = a.reused;
  failed.connects_left = a.connects_left;
  const AfterFailure next = judge_failed_attempt(failed);
  drop_upstream(ctx, a);
  if (next.blame_endpoint) ctx.record_outcome(*a.endpoint, true);
  if (next.send_again) {
    if (!a.reused) ctx.metrics.record_upstream_error(chosen, UpstreamErrorKind::Reset);
    return std::nullopt;
  }
  if (head_error == beast::error::timeout || send_error == beast::error::timeout) {
    ctx.metrics.record_upstream_error(chosen, UpstreamErrorKind::Timeout);
    return local_reply::kUpstreamTimeout;
  }
  ctx.metrics.record_upstream_error(chosen, UpstreamErrorKind::Reset);
  return local_reply::kUpstreamClosed;
}

void log_request(SessionContext& ctx, const RoutingSnapshot& snap, const RequestFacts& f) {
  if (!snap.access_log) return;
  AccessRecord r;
  r.time = std::chrono::system_clock::now();
  r.client = f.client;
  r.method = f.method;
  r.target = f.target;
  r.status = f.status;
  r.set = kSetNames[static_cast<std::size_t>(f.set)];
  if (f.set != SetKind::None) r.reason = weights::reason_name(f.reason);
  if (f.endpoint) r.endpoint = f.endpoint->name;
  r.bytes_in = f.bytes_in;
  r.bytes_out = f.bytes_out;
  r.duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - f.started);
  ctx.access_log.append(r);
  if (ctx.draining) ctx.access_log.hand_over();
}

void drop_upstream(SessionContext& ctx, UpstreamAttempt& a) {
  if (!a.connection) return;
  error_code ignored;
  a.connection->socket().close(ignored);
  ctx.metrics.upstream_connections(-1);
  a.connection.reset();
}

}  // namespace canaryd::proxy
