// ClientSession (see client_session.hpp): a client connection's request loop, from reading a head through
// routing, the upstream exchange and both bodies to keep-alive, closing and lingering.
#include "proxy/dataplane/client_session.hpp"

#include <chrono>
#include <span>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include "proxy/dataplane/body_relay.hpp"
#include "proxy/dataplane/chunked_relay.hpp"
#include "proxy/net/descriptor_shortage.hpp"
#include "proxy/dataplane/head_reader.hpp"
#include "proxy/http/head_rewrite.hpp"
#include "proxy/http/http_text.hpp"
#include "proxy/dataplane/length_relay.hpp"
#include "proxy/http/request_validator.hpp"
#include "proxy/net/no_throw.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using std::chrono::steady_clock;

namespace {

constexpr std::size_t kReadChunk = 8192;
// What a connection's read buffer holds between requests (most request heads fit): waiting for the
// next request needs a buffer (the read is started before bytes come, to cost no extra system call),
// and only this much of it stays with an idle keep-alive connection.
constexpr std::size_t kIdleBuffer = 1024;
// How long and how much a closing connection may still read, so that the peer sees our last
// response instead of a reset caused by data it had already sent (nginx's lingering close).
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 1 << 20;

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

// RFC 9110 9.2.2.
bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" || method == "PUT" ||
         method == "DELETE";
}

bool has_healthy(const std::vector<UpstreamEndpoint>& set) {
  for (const auto& ep : set)
    if (ep.healthy) return true;
  return false;
}

const char* reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

}  // namespace

ClientSession::ClientSession(Worker& worker, asio::ip::tcp::socket socket, const asio::ip::tcp::endpoint& peer,
                             TlsContextPtr tls)
    : worker_(worker),
      tls_context_(std::move(tls)),
      client_(tls_context_ ? FlexStream(std::move(socket), *tls_context_) : FlexStream(std::move(socket))),
      header_timer_(worker.io()),
      accepted_(steady_clock::now()) {
  error_code ec;
  client_ip_ = peer.address().to_string();
  client_.socket().set_option(asio::ip::tcp::no_delay(true), ec);
  client_.socket().non_blocking(true, ec);  // write_all writes directly first; it must never block
  client_buffer_.reserve(kIdleBuffer);
  worker_.metrics().client_connections(+1);
  worker_.add_session(*this);
}

ClientSession::~ClientSession() {
  worker_.metrics().client_connections(-1);
  worker_.connection_closed();
}

bool ClientSession::input_pending() {
  if (client_buffer_.size() > 0) return true;
  error_code ec;
  return client_.socket().available(ec) > 0 || ec;
}

bool ClientSession::between_requests() {
  // Idle means: a request was served, nothing of the next one is buffered here, and nothing waits in
  // the kernel either. A connection that has not sent its first request yet is left to finish it (or
  // to time out at client_header): closing it would drop a request its client has already sent.
  return idle_ && served_one_ && !input_pending();
}

void ClientSession::close_if_idle() {
  if (between_requests()) client_.tcp().cancel();
}

asio::awaitable<bool> ClientSession::handshake() {
  // The handshake is part of the first request's header: it counts against client_header.
  client_.tcp().expires_at(accepted_ + worker_.snapshot()->timeouts.client_header);
  auto [ec] = co_await client_.tls().async_handshake(asio::ssl::stream_base::server, kNoThrow);
  client_.tcp().expires_never();
  co_return !ec;
}

asio::awaitable<void> ClientSession::run() {
  if (client_.is_tls() && !co_await handshake()) {
    // Not TLS (plain HTTP sent to this port, say), an old protocol version or a stalled client: there
    // is no channel to answer on.
    error_code ec;
    client_.socket().close(ec);
    co_return;
  }
  bool first = true;
  // Whether the client may still send when we close: then what it sends is taken in for a while first,
  // as nginx's lingering close does, so that it sees our last response instead of a reset. Only when
  // the client ended the connection, or asked for the close and nothing of it is unread, is there
  // nothing to wait for.
  bool linger = true;
  for (;;) {
    idle_ = true;
    // Drained between requests: a request may be arriving just now, and must not meet a reset.
    if (worker_.draining() && between_requests()) break;
    std::size_t head_size = 0;
    HeadResult head = co_await read_head(head_size, first);
    idle_ = false;
    if (head == HeadResult::PeerClosed) {
      linger = client_buffer_.size() > 0;
      break;
    }
    if (head == HeadResult::Closed) break;  // a request may be on its way
    if (head == HeadResult::Timeout) {
      co_await send_error(408, "request header timeout", false, nullptr);
      break;
    }
    if (head == HeadResult::TooLarge) {
      co_await send_error(431, "request header fields too large", false, nullptr);
      break;
    }
    if (head == HeadResult::Malformed) {
      co_await send_error(400, "bare CR or LF in header", false, nullptr);
      break;
    }
    first = false;
    served_one_ = true;
    Outcome outcome = co_await serve_one(head_size);
    if (outcome == Outcome::Abort) {
      error_code ec;
      client_.socket().close(ec);
      co_return;
    }
    if (outcome == Outcome::Close) break;
    if (outcome == Outcome::CloseAsAsked) {
      linger = input_pending();
      break;
    }
  }
  co_await close_gracefully(linger);
}

asio::awaitable<void> ClientSession::close_gracefully(bool linger) {
  error_code ec;
  if (client_.is_tls()) {
    // close_notify tells the client that the response really ended; the peer's reply is awaited for
    // the linger time at most, which also drains what it may still have sent.
    client_.tcp().expires_after(kLingerTime);
    co_await client_.tls().async_shutdown(kNoThrow);
    client_.socket().close(ec);
    co_return;
  }
  if (!linger) {
    client_.socket().close(ec);  // sends the FIN: nothing of the client's is unread
    co_return;
  }
  client_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (!ec) {
    client_.tcp().expires_after(kLingerTime);
    auto scratch = worker_.scratch().take();
    std::size_t discarded = 0;
    while (discarded < kLingerBytes) {
      auto [rec, n] = co_await client_.async_read_some(asio::buffer(scratch->relay), kNoThrow);
      if (rec) break;
      discarded += n;
    }
  }
  client_.socket().close(ec);
}

void ClientSession::arm_header_timer(steady_clock::time_point deadline) {
  header_timed_out_ = false;
  const std::uint64_t generation = ++header_timer_generation_;
  header_timer_.expires_at(deadline);
  // The session may be gone when an aborted wait completes, so `ec` is checked before `this` is used.
  header_timer_.async_wait([this, generation](error_code ec) {
    if (ec || generation != header_timer_generation_) return;
    header_timed_out_ = true;
    error_code ignored;
    client_.socket().cancel(ignored);
  });
}

void ClientSession::disarm_header_timer() {
  ++header_timer_generation_;
  header_timer_.cancel();
}

asio::awaitable<ClientSession::HeadResult> ClientSession::read_head(std::size_t& head_size, bool first) {
  // Copied, not referenced: the worker may be handed a new snapshot while we wait for bytes.
  const auto snap = worker_.snapshot();
  const std::size_t limit = snap->limits.max_header_bytes;
  const auto client_header = snap->timeouts.client_header;
  // What is not parsed yet never exceeds the header limit plus one read (a chunked body is decoded as it
  // arrives, and leaves nothing unparsed behind).
  client_buffer_.max_size(std::max<std::size_t>(limit, client_buffer_.size()) + kReadChunk);
  // The first request's header section must be complete within client_header of the connection's
  // accept (a client that waits before its first byte gains nothing); a later one's within client_header
  // of its first byte, and between requests the idle timeout applies. Our own timer, not the stream's
  // expiry: the stream closes the socket when its deadline passes, and the 408 must still be written.
  bool waiting_first_byte = client_buffer_.size() == 0;
  // A connection between requests keeps a small buffer, not the largest it ever needed.
  if (waiting_first_byte && client_buffer_.capacity() > kIdleBuffer) {
    client_buffer_.shrink_to_fit();
    client_buffer_.reserve(kIdleBuffer);
  }
  client_.tcp().expires_never();
  if (first)
    arm_header_timer(accepted_ + client_header);
  else
    arm_header_timer(steady_clock::now() + (waiting_first_byte ? snap->timeouts.keepalive_idle : client_header));
  std::size_t scanned = 0;
  bool rearm = false;
  for (;;) {
    std::string_view data(static_cast<const char*>(client_buffer_.data().data()), client_buffer_.size());
    // RFC 9112 2.2: a server SHOULD ignore at least one empty line received before the request-line.
    std::size_t lead = 0;
    while (lead + 1 < data.size() && data[lead] == '\r' && data[lead + 1] == '\n') lead += 2;
    if (lead > 0) {
      client_buffer_.consume(lead);
      scanned = 0;
      continue;
    }
    std::size_t end = find_head_end(data, scanned);
    if (end != std::string_view::npos) {
      disarm_header_timer();
      if (end > limit) co_return HeadResult::TooLarge;
      head_size = end;
      co_return HeadResult::Ready;
    }
    if (data.size() > limit) {
      disarm_header_timer();
      co_return HeadResult::TooLarge;
    }
    // A bare LF or CR would never complete a CRLF CRLF terminator: answer it now, not at the timeout.
    // (A CR that is the last byte so far is checked again once its successor has arrived.)
    if (has_bare_line_break(data, scanned)) {
      disarm_header_timer();
      co_return HeadResult::Malformed;
    }
    scanned = data.size();
    if (rearm) {
      rearm = false;
      arm_header_timer(steady_clock::now() + client_header);
    }
    // Reads are sized by the free room, so an idle connection's small buffer is filled before it grows.
    const std::size_t room = client_buffer_.capacity() - client_buffer_.size();
    // header_timer_ is this read's deadline.
    auto [ec, n] =
        co_await client_.async_read_some_untimed(client_buffer_.prepare(room >= 512 ? room : kReadChunk), kNoThrow);
    if (ec) {
      const bool timed_out = header_timed_out_;
      disarm_header_timer();
      // A timeout before any byte of a keep-alive request is just the idle limit; otherwise the client
      // started (or opened the connection for) a request and did not finish its header in time.
      if (timed_out && (client_buffer_.size() > 0 || first)) co_return HeadResult::Timeout;
      if (ec == asio::error::eof || ec == asio::error::connection_reset) co_return HeadResult::PeerClosed;
      co_return HeadResult::Closed;
    }
    client_buffer_.commit(n);
    // The rest of a keep-alive request's header is due within client_header from its first byte;
    // re-armed only if it did not all come at once, as it usually does.
    if (waiting_first_byte && !first) {
      waiting_first_byte = false;
      rearm = true;
    }
  }
}

asio::awaitable<void> ClientSession::send_error(int status, std::string_view reason, bool keep_alive,
                                                const char* set_name) {
  std::string body(reason);
  body += '\n';
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
                    "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  const auto snap = worker_.snapshot();
  if (set_name && !snap->response_header.empty()) out += snap->response_header + ": " + set_name + "\r\n";
  out += keep_alive ? "\r\n" : "Connection: close\r\n\r\n";
  out += body;
  client_.tcp().expires_after(snap->timeouts.upstream);
  co_await asio::async_write(client_, asio::buffer(out), kNoThrow);
}

asio::awaitable<ClientSession::Outcome> ClientSession::serve_one(std::size_t head_size) {
  // Hold this request's snapshot: the worker may be handed a new one while we wait on I/O.
  const std::shared_ptr<const RoutingSnapshot> snap_ptr = worker_.snapshot();
  const RoutingSnapshot& snap = *snap_ptr;
  const auto started = steady_clock::now();
  auto& metrics = worker_.metrics();

  auto fail = [&](int status, std::string_view reason, bool keep, SetKind set) -> asio::awaitable<Outcome> {
    metrics.record_request(set, static_cast<unsigned>(status), steady_clock::now() - started);
    co_await send_error(status, reason, keep, set == SetKind::None ? nullptr : kSetNames[static_cast<std::size_t>(set)]);
    co_return keep ? Outcome::KeepAlive : Outcome::Close;
  };

  // The head is parsed once, in place, and the upstream's head is written from it for each attempt;
  // it is kept apart from the client buffer, which the body may be read into meanwhile.
  auto scratch = worker_.scratch().take();
  std::string& head_out = scratch->head_out;
  std::span<char> relay(scratch->relay);
  beast::flat_buffer& upstream_buffer = scratch->upstream;
  scratch->request_head.assign(static_cast<const char*>(client_buffer_.data().data()), head_size);
  client_buffer_.consume(head_size);
  const std::string_view head = scratch->request_head;
  const RequestCheck check = check_request_head(head, snap.override_header);
  if (check.status != 0) co_return co_await fail(check.status, check.reason, false, SetKind::None);
  if (snap.limits.max_body_bytes != 0 && check.content_length && *check.content_length > snap.limits.max_body_bytes)
    co_return co_await fail(413, "request body too large", false, SetKind::None);
  if (check.method == "CONNECT") co_return co_await fail(405, "CONNECT is not supported", false, SetKind::None);
  bool client_keep = check.keep_alive && !worker_.draining();
  const bool is_head = check.method == "HEAD";
  const bool body_expected = check.chunked || check.content_length.value_or(0) > 0;

  bool expect_continue = false;
  if (check.has_expect) {
    if (!http_text::iequals(check.expect, "100-continue"))
      co_return co_await fail(417, "unsupported expectation", false, SetKind::None);
    // We answer the expectation ourselves when we are ready for the body, as nginx does; Expect is not
    // forwarded.
    expect_continue = !check.http10 && body_expected;
  }

  // Route: the override header first, then this worker's splitter.
  SetKind chosen = SetKind::Stable;
  bool forced = false;
  if (check.has_override) {
    if (http_text::iequals(check.override_value, "always")) {
      chosen = SetKind::Canary;
      forced = true;
    } else if (http_text::iequals(check.override_value, "never")) {
      forced = true;
    }
  }
  if (!forced && worker_.splitter().next_is_canary(snap.canary_weight)) chosen = SetKind::Canary;
  if (!has_healthy(snap.set(chosen))) {
    SetKind other = chosen == SetKind::Stable ? SetKind::Canary : SetKind::Stable;
    if (!has_healthy(snap.set(other)))
      co_return co_await fail(503, "no healthy endpoint", !body_expected && client_keep, SetKind::None);
    metrics.record_fallback(chosen);
    chosen = other;
  }

  // A chunked body is decoded and encoded again; any other body is relayed as it comes. Chunk lines
  // and the trailer section are bounded like the header.
  ChunkedDecoder chunked_body(snap.limits.max_body_bytes, snap.limits.max_header_bytes);

  // Sent again on another connection when a reused one turns out closed before the response (below).
  const bool resend_safe = !body_expected && idempotent(check.method);
  const auto& set = snap.set(chosen);
  const std::uint32_t first_index = worker_.next_index(chosen);
  std::size_t next_candidate = 0;
  UpstreamPool::Connection upstream;
  unsigned connects_left = snap.retries + 1;  // new connections this request may open, retries included
  const UpstreamEndpoint* endpoint = nullptr;  // points into the snapshot held above
  std::uint32_t endpoint_id = 0;
  bool reused = false;
  bool out_of_descriptors = false;

  // Takes a pooled connection or connects, trying further endpoints of the set on connect failure.
  auto acquire = [&]() -> asio::awaitable<bool> {
    while (next_candidate < set.size() && connects_left > 0) {
      const auto& ep = set[(first_index + next_candidate) % set.size()];
      if (!ep.healthy) {
        ++next_candidate;
        continue;
      }
      if (auto pooled = worker_.pool().take(ep.id, resend_safe)) {
        upstream = std::move(pooled);
        endpoint = &ep;
        endpoint_id = ep.id;
        reused = true;
        co_return true;
      }
      --connects_left;
      ++next_candidate;
      auto fresh = std::make_unique<FlexStream>(worker_.io().get_executor());
      fresh->tcp().expires_after(snap.timeouts.connect);
      auto [cec] = co_await fresh->tcp().async_connect(ep.address, kNoThrow);
      if (is_descriptor_shortage(cec)) {
        // Our own shortage, not the endpoint's failure: another endpoint would fare no better.
        upstream_shortage.note(cec);
        out_of_descriptors = true;
        co_return false;
      }
      if (!cec && ep.tls) cec = co_await start_upstream_tls(*fresh, *ep.tls, snap.timeouts.connect);
      if (!cec) {
        error_code ignored;
        fresh->socket().set_option(asio::ip::tcp::no_delay(true), ignored);
        fresh->socket().non_blocking(true, ignored);  // see write_all
        metrics.upstream_connections(+1);
        upstream = std::move(fresh);
        endpoint = &ep;
        endpoint_id = ep.id;
        reused = false;
        co_return true;
      }
      metrics.record_upstream_error(chosen, UpstreamErrorKind::Connect);
      worker_.record_outcome(ep, true);
    }
    co_return false;
  };
  auto drop_upstream = [&]() {
    if (!upstream) return;
    error_code ignored;
    upstream->socket().close(ignored);
    metrics.upstream_connections(-1);
    upstream.reset();
  };
  auto upstream_head = [&](std::size_t size) {
    return std::string_view(static_cast<const char*>(upstream_buffer.data().data()), size);
  };

  HeadRead got;
  ResponseHead response;
  for (;;) {
    if (!co_await acquire()) {
      if (out_of_descriptors)
        co_return co_await fail(503, "canaryd is out of file descriptors", !body_expected && client_keep, chosen);
      co_return co_await fail(502, "no upstream endpoint could be reached", !body_expected && client_keep, chosen);
    }

    if (expect_continue && client_buffer_.size() == 0) {
      expect_continue = false;
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      client_.tcp().expires_after(snap.timeouts.upstream);
      auto [wec, wn] = co_await asio::async_write(client_, asio::buffer(kContinue), kNoThrow);
      if (wec) {
        drop_upstream();
        co_return Outcome::Abort;
      }
    }

    const UpstreamRequestRewrite rewrite{client_ip_, client_.is_tls() ? "https" : "http", snap.override_header,
                                         endpoint->name, check.chunked};
    write_upstream_request(head, check, rewrite, head_out);
    const RelayResult sent =
        check.chunked ? co_await relay_chunked(head_out, chunked_body, client_, client_buffer_, *upstream, relay,
                                               snap.timeouts.upstream)
                      : co_await relay_length(head_out, check.content_length.value_or(0), client_, client_buffer_,
                                              *upstream, *scratch, worker_.shared_buffer(), snap.timeouts.upstream);
    // A body that breaks its own framing (a bad chunk size, say) or a limit is the client's error, and
    // answered: no byte of a response has gone out yet. The upstream connection, which may have seen
    // part of the request, is never reused. A client that went away or stalled gets nothing more.
    if (sent.failed == RelayResult::Side::Invalid) {
      drop_upstream();
      co_return co_await fail(chunked_body.error_status(), chunked_body.error(), false, chosen);
    }
    if (sent.failed == RelayResult::Side::Read) {
      drop_upstream();
      co_return Outcome::Abort;
    }
    const bool upstream_failed = sent.failed == RelayResult::Side::Write;

    // Response header; interim 1xx responses are hop-by-hop here and dropped.
    got = HeadRead{};
    const char* invalid = nullptr;
    if (!upstream_failed) {
      upstream_buffer.clear();
      for (;;) {
        got = co_await read_head_block(*upstream, upstream_buffer, RequestScratch::kMaxResponseHeader, snap.timeouts.upstream);
        if (got.error) break;
        response = parse_response_head(upstream_head(got.size));
        if (response.error) {
          invalid = response.error;
          break;
        }
        if (response.status >= 200 || response.status == 101) break;
        // Interim responses (103 Early Hints, say) go on to HTTP/1.1 clients (RFC 9110 15.2), without
        // hop-by-hop fields; an HTTP/1.0 client must not get one. A 100 is ours to send, not the
        // upstream's: we never forward Expect.
        const bool forward = !check.http10 && response.status != 100;
        if (forward) write_interim_response(upstream_head(got.size), response, head_out);
        upstream_buffer.consume(got.size);
        if (!forward) continue;
        client_.tcp().expires_after(snap.timeouts.upstream);
        auto [wec, wn] = co_await asio::async_write(client_, asio::buffer(head_out), kNoThrow);
        if (wec) {
          drop_upstream();
          co_return Outcome::Abort;
        }
      }
    }
    if (invalid) {
      drop_upstream();
      worker_.record_outcome(*endpoint, true);
      metrics.record_upstream_error(chosen, UpstreamErrorKind::Reset);
      co_return co_await fail(502, "invalid response from upstream", false, chosen);
    }
    const error_code hec = got.error;
    if (!upstream_failed && !hec) break;

    // The connection ended before one byte of a response: a pooled one the upstream closed just as we
    // reused it, or an endpoint going away (a pod stopping resets what it had not accepted yet). Send
    // again on another connection, but only an idempotent request without a body (RFC 9110 9.2.2,
    // RFC 9112 9.3.1.1: a non-idempotent request is never sent twice); a new connection counts
    // against routing.retries.
    const bool nothing_came_back = upstream_failed || hec == http::error::end_of_stream ||
                                   hec == asio::error::connection_reset || hec == asio::error::eof;
    const bool resendable = resend_safe && nothing_came_back && sent.error != beast::error::timeout &&
                            (reused || connects_left > 0);
    drop_upstream();
    // A pooled connection the upstream had closed says nothing about the endpoint's health.
    if (!reused || !nothing_came_back) worker_.record_outcome(*endpoint, true);
    if (resendable) {
      if (!reused) metrics.record_upstream_error(chosen, UpstreamErrorKind::Reset);
      continue;
    }
    if (hec == beast::error::timeout || sent.error == beast::error::timeout) {
      metrics.record_upstream_error(chosen, UpstreamErrorKind::Timeout);
      co_return co_await fail(504, "upstream timed out", false, chosen);
    }
    metrics.record_upstream_error(chosen, UpstreamErrorKind::Reset);
    co_return co_await fail(502, "upstream closed the connection", false, chosen);
  }

  // The response head for this client, and the body's framing.
  const int status = response.status;
  worker_.record_outcome(*endpoint, status >= 500);
  if (status == 101) {
    drop_upstream();
    metrics.record_upstream_error(chosen, UpstreamErrorKind::Reset);
    co_return co_await fail(502, "upstream switched protocols", false, chosen);
  }
  const bool no_body = is_head || status == 204 || status == 304;
  // Chunked, or until the upstream closes: decoded, and sent chunked to an HTTP/1.1 client; an
  // HTTP/1.0 client reads until we close.
  const bool decode = !no_body && !response.content_length;
  const bool upstream_keep = response.keep_alive && (no_body || !response.until_close);
  // SIGTERM may have come while we waited for the upstream: this response then closes the connection.
  client_keep = client_keep && !worker_.draining() && !(decode && check.http10);
  ClientResponseRewrite rewrite;
  rewrite.via_entry = response.http10 ? kViaEntryHttp10 : kViaEntry;
  rewrite.set_header = snap.response_header;
  rewrite.set_name = kSetNames[static_cast<std::size_t>(chosen)];
  rewrite.chunked = decode && !check.http10;
  rewrite.codings_to_content_encoding = decode && check.http10;
  if (!client_keep)
    rewrite.connection = ClientResponseRewrite::Connection::Close;
  else if (check.http10)
    rewrite.connection = ClientResponseRewrite::Connection::KeepAlive;
  write_client_response(upstream_head(got.size), response, rewrite, head_out);
  upstream_buffer.consume(got.size);

  RelayResult relayed;
  if (decode) {
    http::response_parser<http::buffer_body> body;
    body.body_limit(boost::none);
    start_body_parser(body, response.chunked);
    relayed = co_await relay_decoded(head_out, body, *upstream, upstream_buffer, client_, relay, rewrite.chunked,
                                     snap.timeouts.upstream);
  } else {
    relayed = co_await relay_length(head_out, no_body ? 0 : *response.content_length, *upstream, upstream_buffer,
                                    client_, *scratch, worker_.shared_buffer(), snap.timeouts.upstream);
  }
  if (relayed.failed == RelayResult::Side::Read)
    metrics.record_upstream_error(chosen, relayed.error == beast::error::timeout ? UpstreamErrorKind::Timeout
                                                                               : UpstreamErrorKind::Reset);
  if (!relayed) {
    // Never present a truncated body as complete: the client sees the connection end mid-message.
    drop_upstream();
    metrics.record_request(chosen, static_cast<unsigned>(status), steady_clock::now() - started);
    co_return Outcome::Abort;
  }
  if (upstream_keep && upstream_buffer.size() == 0 && !worker_.draining()) {
    worker_.pool().give_back(endpoint_id, std::move(upstream));
  } else {
    drop_upstream();
  }
  metrics.record_request(chosen, static_cast<unsigned>(status), steady_clock::now() - started);
  if (client_keep) co_return Outcome::KeepAlive;
  // A client that wanted to keep the connection may send its next request before it sees our close.
  co_return check.keep_alive ? Outcome::Close : Outcome::CloseAsAsked;
}

}  // namespace canaryd::proxy
