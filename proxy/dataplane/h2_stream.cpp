// One HTTP/2 stream as a request (see h2_stream.hpp).
#include "proxy/dataplane/h2_stream.hpp"

#include <array>
#include <cstring>

#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include "proxy/dataplane/body_relay.hpp"
#include "proxy/dataplane/h2_connection.hpp"
#include "proxy/http/head_rewrite.hpp"
#include "proxy/http/request_validator.hpp"
#include "proxy/http/http_text.hpp"
#include "proxy/http/resend_policy.hpp"
#include "proxy/net/eager_write.hpp"
#include "proxy/net/no_throw.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using std::chrono::steady_clock;

namespace {

// The stream went away (reset, or the connection ended): nothing is answered.
constexpr LocalReply kGone{0, ""};

nghttp2_nv make_nv(std::string_view name, std::string_view value) {
  return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

H2Stream::H2Stream(H2Connection& conn, std::int32_t id)
    : conn_(conn), id_(id), signal_(conn.ctx().io.get_executor()) {}

void H2Stream::add_field(std::string_view name, std::string_view value) { request_.add(name, value); }

void H2Stream::add_data(const std::uint8_t* data, std::size_t size) {
  body_received_ += size;
  const std::uint64_t max = conn_.ctx().snapshot->limits.max_body_bytes;
  if (max != 0 && body_received_ > max) {
    body_too_large_ = true;
    // Not written upstream: acknowledged at once so that the connection's window is not held.
    nghttp2_session_consume_connection(conn_.session(), size);
  } else {
    inbound_.append(reinterpret_cast<const char*>(data), size);
  }
  signal_.notify();
}

void H2Stream::end_of_request() {
  request_done_ = true;
  signal_.notify();
}

void H2Stream::closed() {
  closed_ = true;
  // What was received and not written upstream is given back to the connection's window.
  if (!inbound_.empty() && !conn_.stopping()) nghttp2_session_consume_connection(conn_.session(), inbound_.size());
  inbound_.clear();
  // A stream waiting on its upstream stops now.
  if (attempt_.connection) {
    error_code ignored;
    attempt_.connection->socket().cancel(ignored);
  }
  signal_.notify();
}

void H2Stream::start() {
  started_ = true;
  asio::co_spawn(
      conn_.ctx().io,
      [self = shared_from_this()]() -> asio::awaitable<void> {
        try {
          co_await self->serve();
        } catch (const std::exception&) {
        }
        self->drop_and_end();
      },
      asio::detached);
}

void H2Stream::drop_and_end() {
  drop_upstream(conn_.ctx(), attempt_);
  scratch_.reset();
  conn_.coroutine_ended();
}

asio::awaitable<void> H2Stream::serve() {
  SessionContext& ctx = conn_.ctx();
  snapshot_ = ctx.snapshot;
  started_at_ = steady_clock::now();
  scratch_.emplace(ctx.scratch.take());
  const RoutingSnapshot& snap = *snapshot_;
  std::string& head = (*scratch_)->request_head;
  const std::string_view built = request_.finish(!request_done_);
  head.assign(built);
  head_ = head;
  bytes_in_ = head_.size();
  if (const auto refusal = admit(head_)) co_return co_await reply(*refusal, SetKind::None);
  if (!route()) co_return co_await reply(local_reply::kNoHealthyEndpoint, SetKind::None);
  for (;;) {
    if (!co_await acquire_upstream(ctx, snap, chosen_, resend_safe_, attempt_)) {
      const LocalReply r = attempt_.out_of_descriptors ? local_reply::kOutOfDescriptors : local_reply::kUnreachable;
      co_return co_await reply(r, chosen_);
    }
    const std::optional<LocalReply> failure = co_await attempt();
    if (!failure) break;
    if (failure->status == 0) co_return;  // gone
    if (failure->status != -1) co_return co_await reply(*failure, chosen_);
  }
  co_await respond();
}

std::optional<LocalReply> H2Stream::admit(std::string_view head) {
  const RoutingSnapshot& snap = *snapshot_;
  if (request_.list_size() > snap.limits.max_header_bytes) return local_reply::kHeaderTooLarge;
  if (request_.malformed()) {
    if (request_.method() == "CONNECT") return local_reply::kConnectUnsupported;
    return LocalReply{400, request_.error()};
  }
  check_ = check_request_head(head, snap.route_fields());
  if (check_.status != 0) return LocalReply{check_.status, check_.reason};
  if (snap.limits.max_body_bytes != 0 &&
      (body_too_large_ || (check_.content_length && *check_.content_length > snap.limits.max_body_bytes)))
    return local_reply::kBodyTooLarge;
  // Expect: 100-continue needs no answer in HTTP/2: the body's flow control does its job. Any other
  // expectation is refused as over HTTP/1.1.
  if (check_.has_expect && !http_text::iequals(check_.expect, "100-continue")) return local_reply::kUnsupportedExpectation;
  return std::nullopt;
}

bool H2Stream::route() {
  SessionContext& ctx = conn_.ctx();
  const ClientSide& client = conn_.client();
  const RouteHints hints = request_route_hints(*snapshot_, check_, conn_.overrides_allowed(*snapshot_), client.key_ip,
                                               ctx.random, issued_cookie_);
  const SetChoice choice = route_request(ctx, *snapshot_, hints, attempt_);
  reason_ = choice.reason;
  if (choice.set == SetKind::None) return false;
  chosen_ = choice.set;
  weight_placed_ = choice.weight_placed;
  resend_safe_ = resend_safe(check_.method, check_.chunked || check_.content_length.value_or(0) > 0);
  return true;
}

asio::awaitable<std::optional<LocalReply>> H2Stream::attempt() {
  const RoutingSnapshot& snap = *snapshot_;
  RequestScratch& s = **scratch_;
  const UpstreamRequestRewrite rewrite{conn_.client().ip, conn_.client().stream.is_tls() ? "https" : "http",
                                       snap.override_header, attempt_.endpoint->name, check_.chunked,
                                       kViaEntryHttp2};
  write_upstream_request(head_, check_, rewrite, s.head_out);
  error_code send_error = co_await write_all(*attempt_.connection, asio::buffer(s.head_out), snap.timeouts.upstream);
  bool send_failed = static_cast<bool>(send_error);
  if (!send_failed && (check_.chunked || check_.content_length.value_or(0) > 0)) {
    if (!co_await send_body()) {
      if (closed_ || reset_sent_) co_return kGone;
      if (body_too_large_) {
        drop_upstream(conn_.ctx(), attempt_);
        co_return local_reply::kBodyTooLarge;
      }
      send_failed = true;
    }
  }
  if (closed_) co_return kGone;
  got_ = HeadRead{};
  if (!send_failed) {
    s.upstream.clear();
    for (;;) {
      got_ = co_await read_response_head();
      if (closed_) co_return kGone;
      if (got_.error) break;
      response_ = parse_response_head({static_cast<const char*>(s.upstream.data().data()), got_.size});
      if (response_.error) {
        drop_upstream(conn_.ctx(), attempt_);
        conn_.ctx().record_outcome(*attempt_.endpoint, true);
        conn_.ctx().metrics.record_upstream_error(chosen_, UpstreamErrorKind::Reset);
        co_return local_reply::kInvalidResponse;
      }
      // Interim responses are not forwarded to HTTP/2 clients (nor is Expect sent upstream).
      if (response_.status >= 200 || response_.status == 101) co_return std::nullopt;
      s.upstream.consume(got_.size);
    }
  }
  if (const auto failure = after_failed_attempt(conn_.ctx(), chosen_, resend_safe_ && !body_sent_, attempt_, send_error,
                                                send_failed, got_.error))
    co_return failure;
  co_return LocalReply{-1, ""};  // send again
}

asio::awaitable<HeadRead> H2Stream::read_response_head() {
  co_return co_await read_head_block(*attempt_.connection, (**scratch_).upstream, RequestScratch::kMaxResponseHeader,
                                     snapshot_->timeouts.upstream, &conn_.ctx().read_deadlines);
}

asio::awaitable<bool> H2Stream::send_body() {
  const auto timeout = snapshot_->timeouts.upstream;
  const bool chunked = check_.chunked;
  for (;;) {
    // A client that stops sending its body gets the upstream timeout, as over HTTP/1.1.
    while (inbound_.empty() && !request_done_ && !closed_ && !body_too_large_) {
      const auto deadline = steady_clock::now() + timeout;
      const bool woken = co_await signal_.wait_until(deadline);
      if (!woken) {
        reset(NGHTTP2_CANCEL);
        co_return false;
      }
    }
    if (closed_ || body_too_large_) co_return false;
    if (inbound_.empty()) break;  // the request ended
    outbound_.swap(inbound_);
    const std::size_t n = outbound_.size();
    char size_line[20];
    const std::size_t line = chunked ? chunk_size_line(n, size_line) : 0;
    const std::array<asio::const_buffer, 3> piece{asio::buffer(size_line, line), asio::buffer(outbound_),
                                                  asio::buffer("\r\n", chunked ? 2 : 0)};
    body_sent_ = true;
    const error_code ec = co_await write_all(*attempt_.connection, piece, timeout);
    outbound_.clear();
    if (closed_) {
      // Received but never acknowledged: given back to the connection's window.
      if (!conn_.stopping()) nghttp2_session_consume_connection(conn_.session(), n);
      co_return false;
    }
    if (ec) co_return false;
    bytes_in_ += n;
    nghttp2_session_consume(conn_.session(), id_, n);
    conn_.want_write();
  }
  if (chunked) {
    static constexpr std::string_view kLastChunk = "0\r\n\r\n";
    if (co_await write_all(*attempt_.connection, asio::buffer(kLastChunk), timeout)) co_return false;
  }
  co_return true;
}

bool H2Stream::submit(int status, bool body) {
  RequestScratch& s = **scratch_;
  h2_response_fields(s.head_out, fields_);
  nv_.clear();
  nv_.reserve(fields_.size() + 1);
  // Three digits (a response's status has three: parse_response_head), without snprintf's cost.
  status_text_[0] = static_cast<char>('0' + status / 100 % 10);
  status_text_[1] = static_cast<char>('0' + status / 10 % 10);
  status_text_[2] = static_cast<char>('0' + status % 10);
  nv_.push_back(make_nv(":status", std::string_view(status_text_, 3)));
  for (const auto& f : fields_) nv_.push_back(make_nv(f.name, f.value));
  nghttp2_data_provider provider{};
  provider.source.ptr = this;
  provider.read_callback = &H2Stream::read_body;
  const int rv = nghttp2_submit_response(conn_.session(), id_, nv_.data(), nv_.size(), body ? &provider : nullptr);
  conn_.want_write();
  return rv == 0;
}

asio::awaitable<void> H2Stream::respond() {
  SessionContext& ctx = conn_.ctx();
  RequestScratch& s = **scratch_;
  ctx.record_outcome(*attempt_.endpoint, response_.status >= 500);
  if (response_.status == 101) {
    drop_upstream(ctx, attempt_);
    ctx.metrics.record_upstream_error(chosen_, UpstreamErrorKind::Reset);
    co_return co_await reply(local_reply::kSwitchedProtocols, chosen_);
  }
  plan_ = plan_response(response_, {check_.method == "HEAD", false, true, ctx.draining});
  const ClientResponseRewrite rewrite = response_rewrite(*snapshot_, response_, chosen_, reason_, issued_cookie_);
  const std::string_view upstream_head(static_cast<const char*>(s.upstream.data().data()), got_.size);
  write_client_response(upstream_head, response_, rewrite, s.head_out);
  s.upstream.consume(got_.size);
  bytes_out_ = s.head_out.size();
  const bool body = plan_.body != ResponsePlan::Body::None;
  submit(response_.status, body);
  bool complete = true;
  if (body) {
    complete = plan_.body == ResponsePlan::Body::Length ? co_await relay_length(*response_.content_length)
                                                        : co_await relay_decoded();
  }
  const bool upstream_failed = !complete && !closed_ && !reset_sent_;
  if (upstream_failed) {
    ctx.metrics.record_upstream_error(chosen_, UpstreamErrorKind::Reset);
    // Never present a truncated body as complete: the stream is reset.
    reset(NGHTTP2_INTERNAL_ERROR);
  }
  if (complete && plan_.upstream_keep && s.upstream.size() == 0 && !ctx.draining)
    ctx.pool.give_back(attempt_.endpoint->id, std::move(attempt_.connection));
  else
    drop_upstream(ctx, attempt_);
  record(chosen_, response_.status, upstream_failed);
  log_access(chosen_, response_.status);
  if (complete) co_await finish_stream();
}

asio::awaitable<bool> H2Stream::relay_length(std::uint64_t length) {
  RequestScratch& s = **scratch_;
  if (length == 0) co_return co_await offer({}, true);
  while (length > 0) {
    if (s.upstream.size() == 0) {
      s.upstream.clear();
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(length, RequestScratch::kRelaySize));
      auto [ec, n] = co_await read_some_within(*attempt_.connection, s.upstream.prepare(want),
                                               snapshot_->timeouts.upstream, &conn_.ctx().read_deadlines);
      if (ec || closed_) co_return false;
      s.upstream.commit(n);
    }
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(length, s.upstream.size()));
    length -= take;
    bytes_out_ += take;
    if (!co_await offer({static_cast<const char*>(s.upstream.data().data()), take}, length == 0)) co_return false;
    s.upstream.consume(take);
  }
  co_return true;
}

asio::awaitable<bool> H2Stream::relay_decoded() {
  RequestScratch& s = **scratch_;
  const auto timeout = snapshot_->timeouts.upstream;
  auto& parser = decoder_.emplace();
  parser.body_limit(boost::none);
  start_body_parser(parser, response_.chunked);
  while (!parser.is_done()) {
    auto& body = parser.get().body();
    body.data = s.relay.data();
    body.size = s.relay.size();
    attempt_.connection->tcp().expires_after(timeout);
    auto [ec, n] = co_await http::async_read_some(*attempt_.connection, s.upstream, parser, kNoThrow);
    if (ec == http::error::need_buffer) ec = {};
    if (ec || closed_) co_return false;
    const std::size_t produced = s.relay.size() - body.size;
    if (produced == 0) continue;
    bytes_out_ += produced;
    if (!co_await offer({s.relay.data(), produced}, parser.is_done())) co_return false;
  }
  if (!eof_sent_ && !last_) co_return co_await offer({}, true);
  co_return true;
}

asio::awaitable<bool> H2Stream::offer(std::string_view piece, bool last) {
  pending_ = piece;
  last_ = last;
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(conn_.session(), id_);
  }
  conn_.want_write();
  // A client that does not open its window for the upstream timeout loses the stream.
  while (!closed_ && (!pending_.empty() || (last_ && !eof_sent_))) {
    const auto deadline = steady_clock::now() + snapshot_->timeouts.upstream;
    const bool woken = co_await signal_.wait_until(deadline);
    if (!woken) {
      reset(NGHTTP2_CANCEL);
      co_return false;
    }
  }
  co_return !closed_ || eof_sent_;
}

ssize_t H2Stream::read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                            std::uint32_t* flags, nghttp2_data_source* source, void*) {
  auto* s = static_cast<H2Stream*>(source->ptr);
  const std::size_t n = std::min(length, s->pending_.size());
  if (n > 0) std::memcpy(buf, s->pending_.data(), n);
  s->pending_.remove_prefix(n);
  if (!s->pending_.empty()) return static_cast<ssize_t>(n);
  if (s->last_) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    s->eof_sent_ = true;
  }
  s->signal_.notify();
  if (n == 0 && !s->last_) {
    s->deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<ssize_t>(n);
}

asio::awaitable<void> H2Stream::reply(LocalReply r, SetKind set) {
  if (closed_) co_return;
  SessionContext& ctx = conn_.ctx();
  const RoutingSnapshot& snap = *snapshot_;
  record(set, r.status);
  LocalReplyFraming framing{true, {}, {}, {}};
  if (served_set_name(set) && !snap.response_header.empty())
    framing = {true, snap.response_header, served_set_name(set), weights::reason_name(reason_)};
  std::string& out = (*scratch_)->head_out;
  render_local_reply(r, framing, out);
  bytes_out_ = out.size();
  const std::size_t head_end = out.find("\r\n\r\n") + 4;
  // The body is read from `out` by the data source: the head's conversion only lower-cases in place.
  const std::string_view body(out.data() + head_end, out.size() - head_end);
  drop_upstream(ctx, attempt_);
  if (submit(r.status, true)) {
    pending_ = body;
    last_ = true;
    conn_.want_write();
    while (!closed_ && !eof_sent_) co_await signal_.wait();
  }
  log_access(set, r.status);
  co_await finish_stream();
}

asio::awaitable<void> H2Stream::finish_stream() {
  while (!closed_ && !eof_sent_) co_await signal_.wait();
  // A response that went out before the request ended (a 413, say): the rest of the request is not
  // wanted (RFC 9113 8.1).
  if (!request_done_) reset(NGHTTP2_NO_ERROR);
}

void H2Stream::reset(std::uint32_t error) {
  if (closed_ || reset_sent_) return;
  reset_sent_ = true;
  nghttp2_submit_rst_stream(conn_.session(), NGHTTP2_FLAG_NONE, id_, error);
  conn_.want_write();
}

void H2Stream::record(SetKind set, int status, bool upstream_failed) {
  conn_.ctx().metrics.record_request(set, static_cast<unsigned>(status), steady_clock::now() - started_at_,
                                     {weight_placed_, upstream_failed}, Protocol::Http2);
}

void H2Stream::log_access(SetKind set, int status) {
  const std::string_view method = check_.method.empty() ? std::string_view(request_.method()) : check_.method;
  log_request(conn_.ctx(), *snapshot_,
              {conn_.client().ip, method, check_.target, status, set, reason_, attempt_.endpoint, bytes_in_, bytes_out_,
               started_at_});
}

}  // namespace canaryd::proxy
