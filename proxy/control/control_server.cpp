// The control port's server (see control_server.hpp): accept with backoff, admission and eviction, reading a
// request within its deadlines, the handler's answer or 503, and writing it.
#include "proxy/control/control_server.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "config/result.hpp"
#include "proxy/control/control_connections.hpp"
#include "proxy/control/control_response.hpp"
#include "proxy/http/http_text.hpp"
#include "proxy/http/local_reply.hpp"
#include "proxy/net/no_throw.hpp"
#include "proxy/http/request_validator.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
using Phase = ControlConnections::Phase;

namespace {
constexpr auto kWriteTimeout = std::chrono::seconds(10);
constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr std::size_t kReadSize = 4096;

/// One accepted connection; the registry's Id names it.
struct Connection {
  Connection(tcp::socket socket, ControlConnections::Id connection_id, std::string peer_address)
      : stream(std::move(socket)), id(connection_id), peer(std::move(peer_address)) {}
  beast::tcp_stream stream;
  ControlConnections::Id id;
  std::string peer;  ///< the remote address, for the audit log

  void close() {
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
  }
};

/// A request that was read whole, and how its answer is to be sent.
struct ReadRequest {
  ControlRequest request;
  ResponseFraming framing;
};

/// Why no request was read: the answer that ends the connection, or none (it closed, timed out or was
/// evicted: close silently).
struct Unread {
  std::optional<ControlReply> refusal;
};

std::string_view first_field(const RequestCheck& check, std::string_view head, std::string_view name) {
  for (const auto& f : check.fields)
    if (http_text::iequals(FieldIndex::name(head, f), name)) return FieldIndex::value(head, f);
  return {};
}
}  // namespace

struct ControlServer::State : std::enable_shared_from_this<ControlServer::State> {
  State(tcp::acceptor listening, Handler h) : acceptor(std::move(listening)), handler(std::move(h)) {}
  tcp::acceptor acceptor;
  Handler handler;
  ControlConnections registry{{kMaxConnectionsPerSource, kMaxConnections}};
  std::unordered_map<ControlConnections::Id, std::shared_ptr<Connection>> open;
  ControlConnections::Id last_id = 0;
  bool accepting = false;  ///< an accept loop runs
  bool paused = false;     ///< pause() or stop(): no new connections, none kept after its request

  void start_accepting() {
    paused = false;
    if (accepting || !acceptor.is_open()) return;
    accepting = true;
    asio::co_spawn(acceptor.get_executor(), accept_loop(shared_from_this()), asio::detached);
  }

  void close_idle() {
    for (auto id : registry.idle())
      if (auto it = open.find(id); it != open.end()) it->second->close();
  }

  void forget(ControlConnections::Id id) {
    registry.remove(id);
    open.erase(id);
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<State> self) {
    asio::steady_timer backoff(self->acceptor.get_executor());
    while (!self->paused && self->acceptor.is_open()) {
      auto [ec, socket] = co_await self->acceptor.async_accept(kNoThrow);
      if (ec == asio::error::operation_aborted) continue;  // pause() or stop(): the loop's condition decides
      if (ec) {
        // Out of descriptors, say: give the connections that hold them a moment to end.
        backoff.expires_after(std::chrono::milliseconds(50));
        co_await backoff.async_wait(kNoThrow);
        continue;
      }
      self->admit(std::move(socket));
    }
    self->accepting = false;
  }

  void admit(tcp::socket socket) {
    boost::system::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (ec) return;  // already gone
    const auto id = ++last_id;
    const auto evicted = registry.admit(id, peer.address(), ControlConnections::Clock::now());
    if (!evicted) return;  // every connection is in a request: this one is refused (closed here)
    for (auto victim : *evicted)
      if (auto it = open.find(victim); it != open.end()) it->second->close();
    auto connection = std::make_shared<Connection>(std::move(socket), id, peer.address().to_string());
    open.emplace(id, connection);
    asio::co_spawn(acceptor.get_executor(), serve(shared_from_this(), std::move(connection)), asio::detached);
  }

  void set_phase(const Connection& c, Phase phase) {
    registry.set_phase(c.id, phase, ControlConnections::Clock::now());
  }

  static asio::awaitable<void> serve(std::shared_ptr<State> self, std::shared_ptr<Connection> conn) {
    struct Forget {
      State& state;
      ControlConnections::Id id;
      ~Forget() { state.forget(id); }
    } forget{*self, conn->id};
    beast::flat_buffer buffer(kMaxHeadBytes + kMaxBodyBytes);
    bool keep_alive = true;
    while (keep_alive && !self->paused) {
      self->set_phase(*conn, Phase::Idle);
      auto read = co_await self->read_request(*conn, buffer);
      if (!read) {
        if (read.error().refusal) co_await refuse(*conn, *read.error().refusal);
        break;
      }
      self->set_phase(*conn, Phase::Handling);
      ControlReply reply = co_await self->call_handler(*conn, std::move(read->request));
      keep_alive = read->framing.keep_alive && !self->paused;
      read->framing.keep_alive = keep_alive;
      const std::string bytes = format_control_response(reply, read->framing);
      conn->stream.expires_after(kWriteTimeout);
      auto [ec, n] = co_await asio::async_write(conn->stream, asio::buffer(bytes), kNoThrow);
      if (ec) co_return;
    }
    boost::system::error_code ignored;
    conn->stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    conn->stream.close();
  }

  /// Reads one request's bytes: the first within kIdleTimeout, the rest of its head (and its body)
  /// within kHeadTimeout of that.
  struct RequestReader {
    using Clock = std::chrono::steady_clock;
    State& state;
    Connection& conn;
    beast::flat_buffer& buffer;
    Clock::time_point deadline = Clock::now() + kIdleTimeout;
    bool started = false;

    void begin_request() {
      started = true;
      state.set_phase(conn, Phase::Reading);
      deadline = Clock::now() + kHeadTimeout;
    }
    std::string_view data() const { return {static_cast<const char*>(buffer.data().data()), buffer.size()}; }
    asio::awaitable<bool> read_more() {
      conn.stream.expires_at(deadline);
      // Never past the buffer's limit (prepare would throw): a head and its body always fit in it.
      const std::size_t room = std::min(kReadSize, buffer.max_size() - buffer.size());
      auto [ec, n] = co_await conn.stream.async_read_some(buffer.prepare(room), kNoThrow);
      if (ec) co_return false;  // closed, reset, timed out or evicted: nothing to answer
      buffer.commit(n);
      if (!started) begin_request();
      co_return true;
    }
  };

  // Reads until a whole head is in the buffer: its size.
  static asio::awaitable<Result<std::size_t, Unread>> read_head(RequestReader& reader) {
    std::size_t scanned = 0;
    for (;;) {
      if (!reader.started && reader.buffer.size() > 0) reader.begin_request();
      const std::string_view data = reader.data();
      // RFC 9112 2.2: empty lines before a request line are ignored.
      if (data.starts_with("\r\n")) {
        reader.buffer.consume(2);
        scanned = 0;
        continue;
      }
      const std::size_t head_size = find_head_end(data, scanned);
      if (head_size != std::string_view::npos) {
        if (head_size > kMaxHeadBytes) break;
        co_return head_size;
      }
      if (data.size() >= kMaxHeadBytes) break;
      if (has_bare_line_break(data, scanned))
        co_return fail(Unread{control_error(local_reply::kBareLineBreak.status, local_reply::kBareLineBreak.text)});
      scanned = data.size();
      if (!co_await reader.read_more()) co_return fail(Unread{});
    }
    co_return fail(Unread{control_error(431, "request header over 16 KiB")});
  }

  // What ends the connection instead of a request whose head is complete.
  static std::optional<ControlReply> head_refusal(const RequestCheck& check) {
    if (check.status != 0) return control_error(check.status, check.reason);
    // Every client of this API knows its body's length; a chunked decoder here would only be more to
    // get wrong.
    if (check.chunked) return control_error(411, "send the body with Content-Length; chunked bodies are not accepted here");
    if (check.content_length && *check.content_length > kMaxBodyBytes) return control_error(413, "request body over 64 KiB");
    return std::nullopt;
  }

  // Reads the body up to `size` bytes in all (head included), after a 100 Continue when one is expected.
  static asio::awaitable<bool> read_body(RequestReader& reader, const RequestCheck& check, std::size_t size) {
    if (check.has_expect && http_text::iequals(check.expect, "100-continue") && !check.http10) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      reader.conn.stream.expires_after(kWriteTimeout);
      auto [ec, n] = co_await asio::async_write(reader.conn.stream, asio::buffer(kContinue), kNoThrow);
      if (ec) co_return false;
    }
    reader.deadline = RequestReader::Clock::now() + kHeadTimeout;
    while (reader.buffer.size() < size)
      if (!co_await reader.read_more()) co_return false;
    co_return true;
  }

  // Reads one request: its head, then its Content-Length body. Bytes after it stay in `buffer`
  // (pipelining).
  asio::awaitable<Result<ReadRequest, Unread>> read_request(Connection& conn, beast::flat_buffer& buffer) {
    RequestReader reader{*this, conn, buffer};
    const auto head_size = co_await read_head(reader);
    if (!head_size) co_return fail(head_size.error());
    auto head_view = [&] { return reader.data().substr(0, *head_size); };
    RequestCheck check = check_request_head(head_view());
    if (auto refusal = head_refusal(check)) co_return fail(Unread{std::move(refusal)});
    const std::size_t body_size = check.content_length.value_or(0);
    if (buffer.size() < *head_size + body_size) {
      if (!co_await read_body(reader, check, *head_size + body_size)) co_return fail(Unread{});
      check = check_request_head(head_view());  // reading may have moved the buffer's bytes
    }

    const std::string_view head = head_view();
    ReadRequest out;
    out.request.method = check.method == "HEAD" ? "GET" : std::string(check.method);
    out.request.target = check.target.empty() || check.target_needs_slash ? "/" + std::string(check.target)
                                                                          : std::string(check.target);
    out.request.authorization = std::string(first_field(check, head, "authorization"));
    out.request.remote = conn.peer;
    out.request.body.assign(reader.data().substr(*head_size, body_size));
    out.framing = ResponseFraming{check.method == "HEAD", check.keep_alive, check.http10};
    buffer.consume(*head_size + body_size);
    co_return out;
  }

  // The handler's reply, or 503 when it does not come within kHandlerTimeout.
  asio::awaitable<ControlReply> call_handler(Connection& conn, ControlRequest request) {
    struct Pending {
      explicit Pending(const tcp::socket::executor_type& ex) : wake(ex) {}
      std::optional<ControlReply> reply;
      asio::steady_timer wake;
    };
    auto pending = std::make_shared<Pending>(conn.stream.get_executor());
    try {
      handler(std::move(request), [pending](ControlReply reply) {
        if (pending->reply) return;
        pending->reply = std::move(reply);
        pending->wake.cancel();
      });
    } catch (const std::exception& e) {
      co_return control_error(500, e.what());
    }
    if (!pending->reply) {
      pending->wake.expires_after(kHandlerTimeout);
      co_await pending->wake.async_wait(kNoThrow);
    }
    if (!pending->reply) co_return control_error(503, "the request was not answered in time");
    co_return std::move(*pending->reply);
  }

  // Sends `reply` and closes, reading what the client still sends for a moment so that it sees the
  // answer, not a reset.
  static asio::awaitable<void> refuse(Connection& conn, const ControlReply& reply) {
    const std::string bytes = format_control_response(reply, ResponseFraming{false, false, false});
    conn.stream.expires_after(kWriteTimeout);
    auto [ec, n] = co_await asio::async_write(conn.stream, asio::buffer(bytes), kNoThrow);
    if (ec) co_return;
    boost::system::error_code ignored;
    conn.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    conn.stream.expires_after(kLingerTime);
    char sink[4096];
    for (;;) {
      auto [rec, rn] = co_await conn.stream.async_read_some(asio::buffer(sink), kNoThrow);
      if (rec) break;
    }
  }
};

ControlServer::ControlServer(asio::io_context&, tcp::acceptor listening, Handler handler)
    : state_(std::make_shared<State>(std::move(listening), std::move(handler))) {}

namespace {
tcp::acceptor listen_on(asio::io_context& io, const tcp::endpoint& address) {
  tcp::acceptor a(io);
  a.open(address.protocol());
  a.set_option(asio::socket_base::reuse_address(true));
  a.bind(address);
  a.listen(asio::socket_base::max_listen_connections);
  return a;
}
}  // namespace

ControlServer::ControlServer(asio::io_context& io, const tcp::endpoint& address, Handler handler)
    : ControlServer(io, listen_on(io, address), std::move(handler)) {}

ControlServer::~ControlServer() { stop(); }

void ControlServer::start() { state_->start_accepting(); }

void ControlServer::stop() {
  state_->paused = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  state_->close_idle();
}

void ControlServer::pause() {
  state_->paused = true;
  boost::system::error_code ignored;
  state_->acceptor.cancel(ignored);
  state_->close_idle();
}

void ControlServer::resume() { state_->start_accepting(); }

int ControlServer::native_handle() const { return state_->acceptor.native_handle(); }

tcp::endpoint ControlServer::local_endpoint() const { return state_->acceptor.local_endpoint(); }

}  // namespace canaryd::proxy
