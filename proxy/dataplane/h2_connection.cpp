// The HTTP/2 connection of h2_connection.hpp: nghttp2's server session, the reader feeding it, the
// writer draining it, deadlines, drain and the end of the connection.
#include "proxy/dataplane/h2_connection.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "proxy/dataplane/h2_stream.hpp"
#include "proxy/net/eager_write.hpp"
#include "proxy/net/no_throw.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
using boost::system::error_code;
using std::chrono::steady_clock;

namespace {

// What one write to the client gathers of the session's output at most.
constexpr std::size_t kWriteBatch = 64 * 1024;
// How long after the shutdown notice the final GOAWAY goes (a round trip for requests in flight).
constexpr auto kGoawayGrace = std::chrono::seconds(1);
// Flood limits (nghttp2's options): RST_STREAM at most 1000 at once and 33 a second after that (the rapid
// reset attack, CVE-2023-44487); CONTINUATION frames per header block; entries per SETTINGS frame; queued
// ACKs (SETTINGS and PING) the peer does not read. Each is cut off with a GOAWAY.
constexpr std::uint64_t kResetBurst = 1000;
constexpr std::uint64_t kResetRate = 33;
constexpr std::size_t kMaxContinuations = 8;
constexpr std::size_t kMaxSettings = 32;
constexpr std::size_t kMaxOutboundAck = 1000;
// SETTINGS and PING frames a client may send in one second (a well-behaved one sends a few): more is a
// flood (CVE-2019-9512, CVE-2019-9515), cut off with GOAWAY ENHANCE_YOUR_CALM.
constexpr unsigned kMaxControlFramesPerSecond = 1000;
// Our HPACK encoder's dynamic table at most (the peer may ask for more; we do not need it).
constexpr std::size_t kMaxDeflateTable = 4096;

H2Connection* self_of(void* p) { return static_cast<H2Connection*>(p); }

}  // namespace

H2Connection::H2Connection(SessionContext& ctx, ClientSide client, OverrideGate& overrides,
                           steady_clock::time_point accepted)
    : ctx_(ctx),
      client_(client),
      overrides_(overrides),
      accepted_(accepted),
      write_signal_(ctx.io.get_executor()),
      ended_signal_(ctx.io.get_executor()),
      deadline_(ctx.io),
      drain_timer_(ctx.io) {}

H2Connection::~H2Connection() {
  if (session_) nghttp2_session_del(session_);
}

bool H2Connection::start_session() {
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &H2Connection::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, &H2Connection::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &H2Connection::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &H2Connection::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &H2Connection::on_stream_close);
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cb);
    return false;
  }
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_stream_reset_rate_limit(opt, kResetBurst, kResetRate);
  nghttp2_option_set_max_continuations(opt, kMaxContinuations);
  nghttp2_option_set_max_settings(opt, kMaxSettings);
  nghttp2_option_set_max_outbound_ack(opt, kMaxOutboundAck);
  nghttp2_option_set_max_deflate_dynamic_table_size(opt, kMaxDeflateTable);
  const int rv = nghttp2_session_server_new2(&session_, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  if (rv != 0) return false;
  const auto& limits = ctx_.snapshot->limits;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, static_cast<std::uint32_t>(limits.h2_max_concurrent_streams)},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kH2StreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(limits.max_header_bytes)},
  };
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0) return false;
  return nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kH2ConnectionWindow) == 0;
}

asio::awaitable<void> H2Connection::run() {
  if (!start_session()) co_return;
  arm_deadline(accepted_ + ctx_.snapshot->timeouts.client_header);
  writer_running_ = true;
  asio::co_spawn(ctx_.io, write_loop(), asio::detached);
  bool go_on = true;
  if (client_.buffer.size() > 0) {
    go_on = feed(static_cast<const char*>(client_.buffer.data().data()), client_.buffer.size());
    client_.buffer.consume(client_.buffer.size());
  }
  while (go_on && !stopping_) {
    auto [ec, n] = co_await client_.stream.async_read_some_untimed(asio::buffer(in_), kNoThrow);
    if (ec) break;
    go_on = feed(in_.data(), n);
  }
  // The connection is over: what the session still has to say goes out (a GOAWAY), unless the client
  // has gone; then every stream is stopped, and their coroutines are waited for.
  if (go_on && !finished()) {
    error_code ignored;
    client_.stream.socket().cancel(ignored);
  }
  stopping_ = true;
  want_write();
  while (writer_running_) co_await ended_signal_.wait();
  ++deadline_generation_;
  deadline_.cancel();
  drain_timer_.cancel();
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, stream] : streams) stream->closed();
  streams.clear();
  while (coroutines_ > 0) co_await ended_signal_.wait();
}

bool H2Connection::feed(const char* data, std::size_t size) {
  const auto rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const std::uint8_t*>(data), size);
  if (rv < 0) {
    // A protocol violation nghttp2 did not answer itself (a bad preface, a flood): GOAWAY and close.
    nghttp2_session_terminate_session(session_, rv == NGHTTP2_ERR_FLOODED ? NGHTTP2_ENHANCE_YOUR_CALM
                                                                          : NGHTTP2_PROTOCOL_ERROR);
    want_write();
    return false;
  }
  update_deadline();
  // Most reads bring requests and nothing to answer at once (no SETTINGS or PING ACK, no RST_STREAM):
  // the writer is not woken for nothing.
  if (nghttp2_session_want_write(session_) != 0) want_write();
  return !finished();
}

bool H2Connection::finished() const {
  return nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0;
}

asio::awaitable<void> H2Connection::write_loop() {
  const auto timeout = ctx_.snapshot->timeouts.upstream;
  for (;;) {
    out_.clear();
    while (out_.size() < kWriteBatch) {
      const std::uint8_t* data = nullptr;
      const auto n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (!out_.empty()) {
      const error_code ec = co_await write_all(client_.stream, asio::buffer(out_), timeout);
      // A read started while the write waited took its deadline: not the reader's.
      if (client_.stream.is_tls()) client_.stream.tcp().expires_never();
      if (ec) break;
      continue;
    }
    if (stopping_ || finished()) break;
    co_await write_signal_.wait();
  }
  writer_running_ = false;
  // The reader may be waiting for bytes that will not matter any more.
  error_code ignored;
  client_.stream.socket().cancel(ignored);
  ended_signal_.notify();
}

void H2Connection::coroutine_ended() {
  --coroutines_;
  ended_signal_.notify();
}

void H2Connection::update_deadline() {
  if (!first_request_seen_) return;  // client_header, armed at the start
  if (streams_.empty()) {
    if (!idle_armed_) {
      idle_armed_ = true;
      arm_deadline(steady_clock::now() + ctx_.snapshot->timeouts.keepalive_idle);
    }
  } else if (idle_armed_) {
    idle_armed_ = false;
    ++deadline_generation_;
    deadline_.cancel();
  }
}

void H2Connection::arm_deadline(steady_clock::time_point at) {
  const std::uint64_t generation = ++deadline_generation_;
  deadline_.expires_at(at);
  // The connection may be gone when an aborted wait completes: `ec` is checked before `this` is used.
  deadline_.async_wait([this, generation](error_code ec) {
    if (ec || generation != deadline_generation_) return;
    on_deadline();
  });
}

void H2Connection::on_deadline() {
  if (stopping_) return;
  // No request within client_header of the accept, or no stream for keepalive_idle: GOAWAY and close.
  if (!first_request_seen_ || streams_.empty()) {
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    want_write();
  }
}

void H2Connection::drain() {
  if (draining_ || stopping_ || !session_) return;
  draining_ = true;
  nghttp2_submit_shutdown_notice(session_);
  want_write();
  drain_timer_.expires_after(kGoawayGrace);
  drain_timer_.async_wait([this](error_code ec) {
    if (ec || stopping_) return;
    send_final_goaway();
  });
}

void H2Connection::send_final_goaway() {
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  want_write();
}

H2Stream* H2Connection::find(std::int32_t stream_id) {
  auto* s = nghttp2_session_get_stream_user_data(session_, stream_id);
  return static_cast<H2Stream*>(s);
}

int H2Connection::on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame, void* p) {
  auto* self = self_of(p);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto stream = std::make_shared<H2Stream>(*self, frame->hd.stream_id);
  nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, stream.get());
  self->streams_.emplace(frame->hd.stream_id, std::move(stream));
  self->first_request_seen_ = true;
  return 0;
}

int H2Connection::on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                            const std::uint8_t* value, std::size_t valuelen, std::uint8_t, void* p) {
  auto* self = self_of(p);
  // Trailer fields (a second header block) are dropped, as over HTTP/1.1.
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  H2Stream* s = self->find(frame->hd.stream_id);
  if (!s) return 0;
  const std::string_view n(reinterpret_cast<const char*>(name), namelen);
  const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  // An HPACK bomb (a small block that decodes huge): past twice the limit the connection ends.
  if (s->list_size() + namelen + valuelen > 2 * self->ctx_.snapshot->limits.max_header_bytes + 64)
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  s->add_field(n, v);
  return 0;
}

bool H2Connection::control_flood() {
  const auto now = steady_clock::now();
  if (now - control_window_ >= std::chrono::seconds(1)) {
    control_window_ = now;
    control_frames_ = 0;
  }
  return ++control_frames_ > kMaxControlFramesPerSecond;
}

int H2Connection::on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* p) {
  auto* self = self_of(p);
  if ((frame->hd.type == NGHTTP2_PING || frame->hd.type == NGHTTP2_SETTINGS) && !(frame->hd.flags & NGHTTP2_FLAG_ACK) &&
      self->control_flood()) {
    nghttp2_session_terminate_session(session, NGHTTP2_ENHANCE_YOUR_CALM);
    return 0;
  }
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
  H2Stream* s = self->find(frame->hd.stream_id);
  if (!s) return 0;
  if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) s->end_of_request();
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST && !s->started()) {
    ++self->coroutines_;
    s->start();
  }
  return 0;
}

int H2Connection::on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t stream_id, const std::uint8_t* data,
                                std::size_t len, void* p) {
  auto* self = self_of(p);
  H2Stream* s = self->find(stream_id);
  if (!s) {
    nghttp2_session_consume_connection(self->session_, len);
    return 0;
  }
  s->add_data(data, len);
  return 0;
}

int H2Connection::on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t, void* p) {
  auto* self = self_of(p);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) return 0;
  auto stream = std::move(it->second);
  self->streams_.erase(it);
  stream->closed();
  self->update_deadline();
  return 0;
}

}  // namespace canaryd::proxy
