// One request and its response on a client connection, told in named steps: admit the request,
// choose the set, make upstream attempts until one yields a response head, then relay the response.
// The decisions are pure functions elsewhere (choose_set, judge_failed_attempt, plan_response); this
// is the I/O that carries them out.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "proxy/dataplane/body_relay.hpp"
#include "proxy/dataplane/head_reader.hpp"
#include "proxy/dataplane/session_context.hpp"
#include "proxy/dataplane/set_choice.hpp"
#include "proxy/dataplane/upstream_attempt.hpp"
#include "proxy/http/chunked_decoder.hpp"
#include "proxy/http/cookies.hpp"
#include "proxy/http/head_rewrite.hpp"
#include "proxy/http/local_reply.hpp"
#include "proxy/http/request_validator.hpp"
#include "proxy/http/response_head.hpp"
#include "proxy/http/response_plan.hpp"
#include "proxy/net/flex_stream.hpp"

namespace canaryd::proxy {

/// How an exchange leaves the client connection. KeepAlive: read the next request; Close: close
/// gracefully; CloseAsAsked: the exchange is complete and the client asked for the close; Abort: close
/// at once (mid-message).
enum class ExchangeOutcome { KeepAlive, Close, CloseAsAsked, Abort };

/// The client's side of an exchange, lent by its session.
struct ClientSide {
  FlexStream& stream;
  boost::beast::flat_buffer& buffer;  ///< the request head at its start; body bytes may follow
  std::string_view ip;
  /// The affinity key of routing.affinity.key client_ip: the peer address's text, an IPv4-mapped IPv6
  /// address as plain IPv4 (so a client hashes the same whatever the listener's family).
  std::string_view key_ip;
  /// The TCP peer is in routing.override_sources (or the list is empty): its overrides count.
  bool override_allowed = true;
};

/// Writes a local reply to the client (text/plain; with the set header naming `set_name` when that is
/// not null and the snapshot names a response header).
/// `reason`: X-Canary-Reason's value beside the set's (null: none). Returns the bytes of the reply.
boost::asio::awaitable<std::size_t> send_local_reply(SessionContext& ctx, FlexStream& client, LocalReply reply,
                                              bool keep_alive, const char* set_name, const char* reason = nullptr);

/// One request and its response. The story is serve(), a single coroutine: the steps it names are
/// plain functions, or hand back the awaitable of the relay they start, so that a request costs no
/// more coroutine frames than the I/O it waits on.
class Exchange {
 public:
  /// Serves the request whose head (`head_size` bytes) starts the client's buffer.
  static boost::asio::awaitable<ExchangeOutcome> serve(SessionContext& ctx, ClientSide client, std::size_t head_size);

 private:
  Exchange(SessionContext& ctx, ClientSide client, std::size_t head_size);

  /// The reply refusing the request before it is routed, if any.
  std::optional<LocalReply> admit();
  /// What the routing reads of this request (its overrides when they count, its affinity bucket);
  /// issues the affinity cookie when routing.affinity.set_cookie asks and the request has none.
  RouteHints route_hints();
  /// Chooses the set (choose_set); false when neither has a healthy endpoint.
  bool route();
  /// Takes a pooled connection or connects, trying further endpoints of the set on connect failure.
  /// Not a coroutine: acquire_upstream's frame is the only one.
  boost::asio::awaitable<bool> acquire();
  LocalReply unreachable() const;
  /// "100 Continue", when the client waits for it before sending its body; false when it went away.
  boost::asio::awaitable<bool> send_continue();
  /// Writes the upstream request head and relays the body after it.
  boost::asio::awaitable<RelayResult> send_request();
  /// Reads the next response head from the upstream into its buffer.
  boost::asio::awaitable<HeadRead> read_head();
  /// What the head just read is: the final one, an interim one to forward (written to head_out) or to
  /// skip, or no usable head at all.
  enum class HeadStep { Final, Forward, Skip, Failed, Invalid };
  HeadStep take_head();
  /// Forwards the interim response in head_out; false when the client went away.
  boost::asio::awaitable<bool> forward_interim();
  /// After an attempt without a usable response head: nothing to send again (the reply to give), or
  /// std::nullopt to send the request again on another connection (resend_policy.hpp).
  std::optional<LocalReply> after_failed_attempt(const RelayResult& sent, bool send_failed);
  /// Plans the response and writes its head; the reply to give instead when it cannot be relayed.
  std::optional<LocalReply> start_response();
  boost::asio::awaitable<RelayResult> relay_body();
  /// After a 101 accepting the request's WebSocket handshake: the 101 goes to the client and the two
  /// connections become one tunnel (tunnel.hpp) until both sides are done; the client's is then closed.
  boost::asio::awaitable<ExchangeOutcome> tunnel();
  ExchangeOutcome finish_response(const RelayResult& relayed);
  boost::asio::awaitable<ExchangeOutcome> reply(LocalReply reply, bool keep_alive, SetKind set);
  /// Ends the exchange mid-message: the upstream connection is dropped, the client's closed at once.
  ExchangeOutcome abort();
  /// Counts the finished request in the worker's metrics, and as rollout evidence when the weight
  /// placed it; `upstream_failed`: the response broke off on the upstream's side.
  void record_request(SetKind set, int status, bool upstream_failed = false);
  /// The access log line of the finished request, when the snapshot's access_log is on.
  void log_access(SetKind set, int status);
  void drop_upstream();
  std::string_view upstream_head() const;
  /// Keep-alive for a local reply before the request body was read: only when it has none.
  bool keep_without_body() const { return !body_expected_ && client_keep_; }

  SessionContext& ctx_;
  ClientSide client_;
  // This request's snapshot: the worker may be handed a new one while we wait on I/O.
  const std::shared_ptr<const RoutingSnapshot> snapshot_;
  const RoutingSnapshot& snap_;
  const std::chrono::steady_clock::time_point started_;
  // The head is parsed once, in place, and the upstream's head is written from it for each attempt;
  // it is kept apart from the client buffer, which the body may be read into meanwhile.
  ScratchPool::Lease scratch_;
  const std::string_view head_;
  const RequestCheck check_;  // parsed once, in place, straight into its member
  std::uint64_t bytes_in_ = 0;   ///< the request head, and its body once relayed (access log)
  std::uint64_t bytes_out_ = 0;  ///< the response head and body, or the local reply (access log)
  bool client_keep_ = false;
  bool body_expected_ = false;
  bool expect_continue_ = false;
  bool resend_safe_ = false;  ///< see resend_safe(): sent again when a reused connection turns out closed
  // A chunked body is decoded and encoded again; any other body is relayed as it comes. Chunk lines
  // and the trailer section are bounded like the header.
  ChunkedDecoder chunked_body_;
  SetKind chosen_ = SetKind::None;
  bool weight_placed_ = false;  ///< SetChoice::weight_placed: the request is rollout evidence
  weights::RouteReason reason_ = weights::RouteReason::Weight;  ///< SetChoice::reason: X-Canary-Reason
  std::optional<CookieValue> issued_cookie_;  ///< the affinity cookie this response gives the client
  UpstreamAttempt attempt_;
  HeadRead got_;
  ResponseHead response_;
  ResponsePlan plan_;
  bool tunnel_ = false;  ///< the upstream accepted the WebSocket handshake: the response is a tunnel
  /// A response body that is not relayed as it is (chunked, or until close); only then constructed.
  std::optional<boost::beast::http::response_parser<boost::beast::http::buffer_body>> decoder_;
};

}  // namespace canaryd::proxy
