// The steps of one request on a client connection (see exchange.hpp).
#include "proxy/dataplane/exchange.hpp"

#include <array>
#include <span>

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include "proxy/dataplane/chunked_relay.hpp"
#include "proxy/dataplane/length_relay.hpp"
#include "proxy/dataplane/tunnel.hpp"
#include "proxy/dataplane/set_choice.hpp"
#include "proxy/dataplane/upstream_attempt.hpp"
#include "proxy/http/cookies.hpp"
#include "proxy/http/head_rewrite.hpp"
#include "proxy/http/http_text.hpp"
#include "proxy/http/resend_policy.hpp"
#include "proxy/http/response_plan.hpp"
#include "proxy/net/eager_write.hpp"
#include "proxy/net/no_throw.hpp"
#include "weights/affinity.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using std::chrono::steady_clock;

namespace {

// Moves the request head out of the client's buffer into the request's own memory.
std::string_view take_request_head(RequestScratch& scratch, beast::flat_buffer& client_buffer, std::size_t size) {
  scratch.request_head.assign(static_cast<const char*>(client_buffer.data().data()), size);
  client_buffer.consume(size);
  return scratch.request_head;
}

}  // namespace

asio::awaitable<std::size_t> send_local_reply(SessionContext& ctx, FlexStream& client, LocalReply reply, bool keep_alive,
                                       const char* set_name, const char* reason) {
  const auto snap = ctx.snapshot;
  LocalReplyFraming framing{keep_alive, {}, {}, {}};
  if (set_name && !snap->response_header.empty())
    framing = {keep_alive, snap->response_header, set_name, reason ? std::string_view(reason) : std::string_view{}};
  std::string out;
  render_local_reply(reply, framing, out);
  client.tcp().expires_after(snap->timeouts.upstream);
  co_await asio::async_write(client, asio::buffer(out), kNoThrow);
  co_return out.size();
}

Exchange::Exchange(SessionContext& ctx, ClientSide client, std::size_t head_size)
    : ctx_(ctx),
      client_(client),
      snapshot_(ctx.snapshot),
      snap_(*snapshot_),
      started_(steady_clock::now()),
      scratch_(ctx.scratch.take()),
      head_(take_request_head(*scratch_, client.buffer, head_size)),
      check_(check_request_head(head_, snap_.route_fields())),
      bytes_in_(head_size),
      chunked_body_(snap_.limits.max_body_bytes, snap_.limits.max_header_bytes) {}

// GCC 12 at -O2 inlines Asio's coroutine-frame operator new into this coroutine (through acquire's
// awaitable) and pairs the frame's own operator delete with it as a mismatch that is not there (see
// proxy/kube/configmap_state.cpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
asio::awaitable<ExchangeOutcome> Exchange::serve(SessionContext& ctx, ClientSide client, std::size_t head_size) {
  Exchange ex(ctx, client, head_size);
  if (const auto refusal = ex.admit()) co_return co_await ex.reply(*refusal, false, SetKind::None);
  if (!ex.route()) co_return co_await ex.reply(local_reply::kNoHealthyEndpoint, ex.keep_without_body(), SetKind::None);
  for (;;) {  // one upstream attempt per round
    if (!co_await ex.acquire()) co_return co_await ex.reply(ex.unreachable(), ex.keep_without_body(), ex.chosen_);
    if (ex.expect_continue_ && ex.client_.buffer.size() == 0 && !co_await ex.send_continue()) co_return ex.abort();
    const RelayResult sent = co_await ex.send_request();
    // A body that breaks its own framing (a bad chunk size, say) or a limit is the client's error, and
    // answered: no byte of a response has gone out yet. The upstream connection, which may have seen
    // part of the request, is never reused. A client that went away or stalled gets nothing more.
    if (sent.failed == RelayResult::Side::Invalid) {
      ex.drop_upstream();
      co_return co_await ex.reply({ex.chunked_body_.error_status(), ex.chunked_body_.error()}, false, ex.chosen_);
    }
    if (sent.failed == RelayResult::Side::Read) co_return ex.abort();
    const bool send_failed = sent.failed == RelayResult::Side::Write;
    if (!send_failed) ex.bytes_in_ = ex.head_.size() + sent.bytes;
    ex.got_ = HeadRead{};
    HeadStep step = HeadStep::Final;
    if (!send_failed) {
      // Interim responses are hop-by-hop here: forwarded or dropped until the final one.
      ex.scratch_->upstream.clear();
      do {
        ex.got_ = co_await ex.read_head();
        step = ex.take_head();
        if (step == HeadStep::Forward && !co_await ex.forward_interim()) co_return ex.abort();
      } while (step == HeadStep::Forward || step == HeadStep::Skip);
    }
    if (step == HeadStep::Invalid) {
      ex.drop_upstream();
      ex.ctx_.record_outcome(*ex.attempt_.endpoint, true);
      ex.ctx_.metrics.record_upstream_error(ex.chosen_, UpstreamErrorKind::Reset);
      co_return co_await ex.reply(local_reply::kInvalidResponse, false, ex.chosen_);
    }
    if (!send_failed && !ex.got_.error) break;
    if (const auto failure = ex.after_failed_attempt(sent, send_failed))
      co_return co_await ex.reply(*failure, false, ex.chosen_);
  }
  if (const auto refusal = ex.start_response()) co_return co_await ex.reply(*refusal, false, ex.chosen_);
  if (ex.tunnel_) co_return co_await ex.tunnel();
  const RelayResult relayed = co_await ex.relay_body();
  co_return ex.finish_response(relayed);
}
#pragma GCC diagnostic pop

std::optional<LocalReply> Exchange::admit() {
  if (check_.status != 0) return LocalReply{check_.status, check_.reason};
  if (snap_.limits.max_body_bytes != 0 && check_.content_length && *check_.content_length > snap_.limits.max_body_bytes)
    return local_reply::kBodyTooLarge;
  if (check_.method == "CONNECT") return local_reply::kConnectUnsupported;
  client_keep_ = check_.keep_alive && !ctx_.draining;
  body_expected_ = check_.chunked || check_.content_length.value_or(0) > 0;
  if (check_.has_expect) {
    if (!http_text::iequals(check_.expect, "100-continue")) return local_reply::kUnsupportedExpectation;
    // We answer the expectation ourselves when we are ready for the body, as nginx does; Expect is not
    // forwarded.
    expect_continue_ = !check_.http10 && body_expected_;
  }
  return std::nullopt;
}

RouteHints Exchange::route_hints() {
  return request_route_hints(snap_, check_, client_.override_allowed, client_.key_ip, ctx_.random, issued_cookie_);
}

bool Exchange::route() {
  const SetChoice choice = route_request(ctx_, snap_, route_hints(), attempt_);
  reason_ = choice.reason;
  if (choice.set == SetKind::None) return false;
  chosen_ = choice.set;
  weight_placed_ = choice.weight_placed;
  resend_safe_ = resend_safe(check_.method, body_expected_);
  return true;
}

asio::awaitable<bool> Exchange::acquire() {
  return acquire_upstream(ctx_, snap_, chosen_, resend_safe_, attempt_);
}

LocalReply Exchange::unreachable() const {
  return attempt_.out_of_descriptors ? local_reply::kOutOfDescriptors : local_reply::kUnreachable;
}

asio::awaitable<bool> Exchange::send_continue() {
  expect_continue_ = false;
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  client_.stream.tcp().expires_after(snap_.timeouts.upstream);
  auto [wec, wn] = co_await asio::async_write(client_.stream, asio::buffer(kContinue), kNoThrow);
  co_return !wec;
}

// Not a coroutine: the relay's own frame is the only one.
asio::awaitable<RelayResult> Exchange::send_request() {
  const UpstreamRequestRewrite rewrite{client_.ip, client_.stream.is_tls() ? "https" : "http", snap_.override_header,
                                       attempt_.endpoint->name, check_.chunked};
  std::string& head_out = scratch_->head_out;
  write_upstream_request(head_, check_, rewrite, head_out);
  if (check_.chunked)
    return relay_chunked(head_out, chunked_body_, client_.stream, client_.buffer, *attempt_.connection, scratch_->relay,
                         snap_.timeouts.upstream);
  return relay_length(head_out, check_.content_length.value_or(0), client_.stream, client_.buffer,
                      *attempt_.connection, *scratch_, ctx_.shared_relay, snap_.timeouts.upstream);
}

asio::awaitable<HeadRead> Exchange::read_head() {
  return read_head_block(*attempt_.connection, scratch_->upstream, RequestScratch::kMaxResponseHeader,
                         snap_.timeouts.upstream, &ctx_.read_deadlines);
}

Exchange::HeadStep Exchange::take_head() {
  if (got_.error) return HeadStep::Failed;
  response_ = parse_response_head(upstream_head());
  if (response_.error) return HeadStep::Invalid;
  if (response_.status >= 200 || response_.status == 101) return HeadStep::Final;
  // Interim responses (103 Early Hints, say) go on to HTTP/1.1 clients (RFC 9110 15.2), without
  // hop-by-hop fields; an HTTP/1.0 client must not get one. A 100 is ours to send, not the
  // upstream's: we never forward Expect.
  const bool forward = !check_.http10 && response_.status != 100;
  if (forward) write_interim_response(upstream_head(), response_, scratch_->head_out);
  scratch_->upstream.consume(got_.size);
  return forward ? HeadStep::Forward : HeadStep::Skip;
}

asio::awaitable<bool> Exchange::forward_interim() {
  client_.stream.tcp().expires_after(snap_.timeouts.upstream);
  auto [wec, wn] = co_await asio::async_write(client_.stream, asio::buffer(scratch_->head_out), kNoThrow);
  co_return !wec;
}

std::optional<LocalReply> Exchange::after_failed_attempt(const RelayResult& sent, bool send_failed) {
  return proxy::after_failed_attempt(ctx_, chosen_, resend_safe_, attempt_, sent.error, send_failed, got_.error);
}

std::optional<LocalReply> Exchange::start_response() {
  ctx_.record_outcome(*attempt_.endpoint, response_.status >= 500);
  if (response_.status == 101 && check_.websocket && switches_to_websocket(upstream_head(), response_)) {
    tunnel_ = true;
    ClientResponseRewrite rewrite = response_rewrite(snap_, response_, chosen_, reason_, issued_cookie_);
    rewrite.upgrade = true;
    write_client_response(upstream_head(), response_, rewrite, scratch_->head_out);
    scratch_->upstream.consume(got_.size);
    return std::nullopt;
  }
  // A 101 nobody asked for (or to another protocol than the one asked for): nothing we can relay.
  if (response_.status == 101) {
    drop_upstream();
    ctx_.metrics.record_upstream_error(chosen_, UpstreamErrorKind::Reset);
    return local_reply::kSwitchedProtocols;
  }
  // SIGTERM may have come while we waited for the upstream: this response then closes the connection.
  plan_ = plan_response(response_, {check_.method == "HEAD", check_.http10, client_keep_, ctx_.draining});
  ClientResponseRewrite rewrite = response_rewrite(snap_, response_, chosen_, reason_, issued_cookie_);
  rewrite.chunked = plan_.chunked;
  rewrite.codings_to_content_encoding = plan_.codings_to_content_encoding;
  rewrite.connection = plan_.connection;
  write_client_response(upstream_head(), response_, rewrite, scratch_->head_out);
  bytes_out_ = scratch_->head_out.size();
  scratch_->upstream.consume(got_.size);
  return std::nullopt;
}

asio::awaitable<ExchangeOutcome> Exchange::tunnel() {
  // The 101 and whatever the upstream sent right behind it go to the client in one write.
  const std::array<asio::const_buffer, 2> first{asio::buffer(scratch_->head_out), scratch_->upstream.data()};
  bytes_out_ = asio::buffer_size(first);
  const error_code wec = co_await write_all(client_.stream, first, snap_.timeouts.upstream);
  // Counted once, when the tunnel starts (its duration: up to the 101); logged when it ends, with the
  // bytes of both heads and of the tunnel.
  record_request(chosen_, response_.status);
  if (wec) {
    log_access(chosen_, response_.status);
    co_return abort();
  }
  scratch_->upstream.consume(scratch_->upstream.size());
  struct Open {  // the gauge goes down also when the worker destroys an unfinished tunnel
    WorkerMetrics& metrics;
    SetKind set;
    ~Open() { metrics.tunnels(set, -1); }
  } open{ctx_.metrics, chosen_};
  ctx_.metrics.tunnels(chosen_, +1);
  const TunnelResult t = co_await run_tunnel({client_.stream, client_.buffer, *attempt_.connection, scratch_->upstream,
                                              std::span<char>(scratch_->relay)},
                                             snap_.timeouts.tunnel_idle);
  bytes_in_ += t.to_upstream;
  bytes_out_ += t.to_client;
  log_access(chosen_, response_.status);
  // Both sides are done (or were closed): the client's connection closes now, the upstream's is never reused.
  co_return abort();
}

// Not a coroutine: the relay's own frame is the only one.
asio::awaitable<RelayResult> Exchange::relay_body() {
  if (plan_.body == ResponsePlan::Body::Decoded) {
    auto& body = decoder_.emplace();
    body.body_limit(boost::none);
    start_body_parser(body, response_.chunked);
    return relay_decoded(scratch_->head_out, body, *attempt_.connection, scratch_->upstream, client_.stream,
                         scratch_->relay, plan_.chunked, snap_.timeouts.upstream);
  }
  const std::uint64_t length = plan_.body == ResponsePlan::Body::None ? 0 : *response_.content_length;
  return relay_length(scratch_->head_out, length, *attempt_.connection, scratch_->upstream, client_.stream, *scratch_,
                      ctx_.shared_relay, snap_.timeouts.upstream);
}

ExchangeOutcome Exchange::finish_response(const RelayResult& relayed) {
  const int status = response_.status;
  const bool upstream_failed = relayed.failed == RelayResult::Side::Read;
  if (upstream_failed)
    ctx_.metrics.record_upstream_error(
        chosen_, relayed.error == beast::error::timeout ? UpstreamErrorKind::Timeout : UpstreamErrorKind::Reset);
  bytes_out_ += relayed.bytes;
  if (!relayed) {
    // Never present a truncated body as complete: the client sees the connection end mid-message.
    drop_upstream();
    record_request(chosen_, status, upstream_failed);
    log_access(chosen_, status);
    return ExchangeOutcome::Abort;
  }
  // An upstream that refused a WebSocket handshake is not trusted to have stayed in HTTP: not reused.
  if (plan_.upstream_keep && scratch_->upstream.size() == 0 && !ctx_.draining && !check_.websocket)
    ctx_.pool.give_back(attempt_.endpoint->id, std::move(attempt_.connection));
  else
    drop_upstream();
  record_request(chosen_, status);
  log_access(chosen_, status);
  if (plan_.client_keep) return ExchangeOutcome::KeepAlive;
  // A client that wanted to keep the connection may send its next request before it sees our close.
  return check_.keep_alive ? ExchangeOutcome::Close : ExchangeOutcome::CloseAsAsked;
}

ExchangeOutcome Exchange::abort() {
  drop_upstream();
  return ExchangeOutcome::Abort;
}

asio::awaitable<ExchangeOutcome> Exchange::reply(LocalReply r, bool keep_alive, SetKind set) {
  record_request(set, r.status);
  // The reason goes with the set it explains (none before routing, or when no set could serve).
  bytes_out_ = co_await send_local_reply(ctx_, client_.stream, r, keep_alive, served_set_name(set),
                                         set == SetKind::None ? nullptr : weights::reason_name(reason_));
  log_access(set, r.status);
  co_return keep_alive ? ExchangeOutcome::KeepAlive : ExchangeOutcome::Close;
}

void Exchange::record_request(SetKind set, int status, bool upstream_failed) {
  ctx_.metrics.record_request(set, static_cast<unsigned>(status), steady_clock::now() - started_,
                              {weight_placed_, upstream_failed});
}

void Exchange::log_access(SetKind set, int status) {
  log_request(ctx_, snap_,
              {client_.ip, check_.method, check_.target, status, set, reason_, attempt_.endpoint, bytes_in_, bytes_out_,
               started_});
}

void Exchange::drop_upstream() { proxy::drop_upstream(ctx_, attempt_); }

std::string_view Exchange::upstream_head() const {
  return {static_cast<const char*>(scratch_->upstream.data().data()), got_.size};
}

}  // namespace canaryd::proxy
