// The client connection of client_session.hpp: TLS handshake, request heads and their timeouts, the
// lingering close.
#include "proxy/dataplane/client_session.hpp"

#include <chrono>
#include <span>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "proxy/dataplane/head_reader.hpp"
#include "proxy/http/request_validator.hpp"
#include "proxy/net/no_throw.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
using boost::system::error_code;
using std::chrono::steady_clock;

namespace {

// A client on an IPv6 listener with an IPv4 address is the same client as on an IPv4 listener.
asio::ip::address without_v4_mapping(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  return a;
}

constexpr std::size_t kReadChunk = 8192;
// What a connection's read buffer holds between requests (most request heads fit): waiting for the
// next request needs a buffer (the read is started before bytes come, to cost no extra system call),
// and only this much of it stays with an idle keep-alive connection.
constexpr std::size_t kIdleBuffer = 1024;
// How long a plain keep-alive connection waits for its next request here before it parks.
constexpr auto kParkAfter = std::chrono::milliseconds(500);
// How long and how much a closing connection may still read, so that the peer sees our last
// response instead of a reset caused by data it had already sent (nginx's lingering close).
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 1 << 20;

}  // namespace

ClientSession::ClientSession(SessionContext& context, asio::ip::tcp::socket socket,
                             const asio::ip::tcp::endpoint& peer, TlsContextPtr tls, bool http2)
    : ctx_(context),
      count_(context),
      tls_context_(std::move(tls)),
      client_(tls_context_ ? FlexStream(std::move(socket), *tls_context_) : FlexStream(std::move(socket))),
      peer_(peer),
      peer_address_(without_v4_mapping(peer.address())),
      override_gate_(peer_address_),
      header_timer_(context.io),
      accepted_(steady_clock::now()),
      http2_(http2) {
  // Non-blocking (write_all writes directly first; it must never block) and TCP_NODELAY already, from
  // the worker's accept (accept_own).
  remember_client_ip();
  client_buffer_.reserve(kIdleBuffer);
}

ClientSession::ClientSession(SessionContext& context, ParkedConnection& parked)
    : ctx_(context),
      count_(std::move(parked.count)),
      client_(std::move(parked.socket)),  // keeps the socket's options (no_delay, non_blocking)
      peer_(parked.peer),
      peer_address_(without_v4_mapping(peer_.address())),
      override_gate_(peer_address_),
      header_timer_(context.io),
      served_one_(true),
      idle_timed_out_(parked.wake == ParkedConnection::Wake::IdleTimeout),
      http2_(false) {
  remember_client_ip();
}

ClientSession::~ClientSession() = default;

void ClientSession::remember_client_ip() {
  client_ip_ = peer_.address().to_string();
  if (peer_address_ != peer_.address()) client_key_ip_ = peer_address_.to_string();
}

std::unique_ptr<ParkedConnection> ClientSession::take_parked() {
  return std::make_unique<ParkedConnection>(std::move(count_), std::move(client_.socket()), peer_, idle_since_);
}

ClientSide ClientSession::client_side() {
  return {client_, client_buffer_, client_ip_, client_key_ip_.empty() ? client_ip_ : client_key_ip_,
          override_gate_.allowed(*ctx_.snapshot)};
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
  if (h2_) {
    h2_->drain();
    return;
  }
  if (between_requests()) client_.tcp().cancel();
}

bool ClientSession::alpn_h2() {
  const unsigned char* proto = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(client_.tls().native_handle(), &proto, &length);
  return length == 2 && proto[0] == 'h' && proto[1] == '2';
}

bool ClientSession::prior_knowledge() {
  const std::string_view data(static_cast<const char*>(client_buffer_.data().data()), client_buffer_.size());
  return http2_ && data.starts_with(kH2PrefaceHead);
}

asio::awaitable<void> ClientSession::run_h2() {
  idle_ = false;
  H2Connection connection(ctx_, client_side(), override_gate_, accepted_);
  h2_ = &connection;
  co_await connection.run();
  h2_ = nullptr;
  co_await close_gracefully(true);
}

asio::awaitable<bool> ClientSession::handshake() {
  // The handshake is part of the first request's header: it counts against client_header.
  client_.tcp().expires_at(accepted_ + ctx_.snapshot->timeouts.client_header);
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
  if (client_.is_tls() && alpn_h2()) co_return co_await run_h2();
  if (idle_timed_out_) {
    co_await close_gracefully(true);
    co_return;
  }
  bool first = !served_one_;
  // Whether the client may still send when we close: then what it sends is taken in for a while first,
  // as nginx's lingering close does, so that it sees our last response instead of a reset. Only when
  // the client ended the connection, or asked for the close and nothing of it is unread, is there
  // nothing to wait for.
  bool linger = true;
  for (;;) {
    idle_ = true;
    // Drained between requests: a request may be arriving just now, and must not meet a reset.
    if (ctx_.draining && between_requests()) break;
    std::size_t head_size = 0;
    HeadResult head = co_await read_head(head_size, first);
    if (head == HeadResult::Park) {
      parked_ = true;
      co_return;
    }
    idle_ = false;
    if (head == HeadResult::PeerClosed) {
      linger = client_buffer_.size() > 0;
      break;
    }
    if (head == HeadResult::Closed) break;  // a request may be on its way
    if (head == HeadResult::Timeout) {
      co_await send_local_reply(ctx_, client_, local_reply::kHeaderTimeout, false, nullptr);
      break;
    }
    if (head == HeadResult::TooLarge) {
      co_await send_local_reply(ctx_, client_, local_reply::kHeaderTooLarge, false, nullptr);
      break;
    }
    if (head == HeadResult::Malformed) {
      co_await send_local_reply(ctx_, client_, local_reply::kBareLineBreak, false, nullptr);
      break;
    }
    if (first && prior_knowledge()) co_return co_await run_h2();
    first = false;
    served_one_ = true;
    const ExchangeOutcome outcome = co_await Exchange::serve(ctx_, client_side(), head_size);
    if (outcome == ExchangeOutcome::Abort) {
      error_code ec;
      client_.socket().close(ec);
      co_return;
    }
    if (outcome == ExchangeOutcome::Close) break;
    if (outcome == ExchangeOutcome::CloseAsAsked) {
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
    auto scratch = ctx_.scratch.take();
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
  header_timer_armed_ = true;
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
  if (!header_timer_armed_) return;
  header_timer_armed_ = false;
  ++header_timer_generation_;
  header_timer_.cancel();
}

void ClientSession::keep_idle_buffer() {
  if (client_buffer_.capacity() > kIdleBuffer) {
    client_buffer_.shrink_to_fit();
    client_buffer_.reserve(kIdleBuffer);
  } else if (client_buffer_.capacity() == 0) {
    client_buffer_.reserve(kIdleBuffer);
  }
}

asio::awaitable<ClientSession::HeadResult> ClientSession::read_head(std::size_t& head_size, bool first) {
  // Copied, not referenced: the worker may be handed a new snapshot while we wait for bytes.
  const auto snap = ctx_.snapshot;
  const std::size_t limit = snap->limits.max_header_bytes;
  const auto client_header = snap->timeouts.client_header;
  // What is not parsed yet never exceeds the header limit plus one read (a chunked body is decoded as it
  // arrives, and leaves nothing unparsed behind).
  client_buffer_.max_size(std::max<std::size_t>(limit, client_buffer_.size()) + kReadChunk);
  bool waiting_first_byte = client_buffer_.size() == 0;
  // A connection between requests keeps a small buffer, not the largest it ever needed.
  if (waiting_first_byte) keep_idle_buffer();
  // A plain keep-alive connection still idle after kParkAfter parks (Park): the worker keeps its
  // socket, not this session, its buffer and coroutine frames. Not sooner: a busy connection's next
  // request comes within moments, and a park and a wake cost more than the read waiting here. (Over
  // TLS, bytes may wait decrypted inside the stream, which readability would not show: TLS stays.)
  const bool may_park =
      waiting_first_byte && !first && !client_.is_tls() && snap->timeouts.keepalive_idle > kParkAfter;
  bool park_due = false;  // the header timer's deadline is the time to park, not keepalive_idle
  // The first request's header section must be complete within client_header of the connection's
  // accept (a client that waits before its first byte gains nothing); a later one's within client_header
  // of its first byte, and between requests the idle timeout applies. Our own timer, not the stream's
  // expiry: the stream closes the socket when its deadline passes, and the 408 must still be written.
  // It is armed only when a read has to wait: a head that is all there costs no timer.
  client_.tcp().expires_never();
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
    if (!header_timer_armed_) {
      if (first) {
        arm_header_timer(accepted_ + client_header);
      } else if (waiting_first_byte) {
        idle_since_ = steady_clock::now();
        park_due = may_park;
        arm_header_timer(idle_since_ + (park_due ? kParkAfter : snap->timeouts.keepalive_idle));
      } else {
        arm_header_timer(steady_clock::now() + client_header);
      }
    } else if (rearm) {
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
      if (timed_out && park_due && client_buffer_.size() == 0) {
        // Time to park. The wait for readability is registered before this thread returns to epoll
        // (Worker::park, on this same turn), so bytes that come after this read raise an edge that
        // the wait sees; bytes that came before (their edge may have passed while nothing waited,
        // since the cancelled read) are read here.
        park_due = false;
        error_code rec;
        const std::size_t got = client_.socket().read_some(client_buffer_.prepare(client_buffer_.capacity()), rec);
        if (rec == asio::error::would_block || rec == asio::error::try_again) co_return HeadResult::Park;
        if (rec == asio::error::eof || rec == asio::error::connection_reset) co_return HeadResult::PeerClosed;
        if (rec) co_return HeadResult::Closed;
        client_buffer_.commit(got);
        waiting_first_byte = false;  // the timer is armed for client_header from now
        continue;
      }
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

}  // namespace canaryd::proxy
