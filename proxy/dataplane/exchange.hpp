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

#include "proxy/dataplane/body_relay.hpp"
#include "proxy/dataplane/head_reader.hpp"
#include "proxy/dataplane/session_context.hpp"
#include "proxy/http/chunked_decoder.hpp"
#include "proxy/http/local_reply.hpp"
#include "proxy/http/request_validator.hpp"
#include "proxy/http/response_head.hpp"
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
};

/// Writes a local reply to the client (text/plain; with the set header naming `set_name` when that is
/// not null and the snapshot names a response header).
boost::asio::awaitable<void> send_local_reply(SessionContext& ctx, FlexStream& client, LocalReply reply,
                                              bool keep_alive, const char* set_name);

/// One upstream attempt's connection: where it goes and what the request may still spend.
struct UpstreamAttempt {
  UpstreamPool::Connection connection;
  const UpstreamEndpoint* endpoint = nullptr;  ///< into the exchange's snapshot
  bool reused = false;                         ///< taken from the pool, not opened for this request
  unsigned connects_left = 0;                  ///< new connections the request may open, retries included
  std::uint32_t first_index = 0;               ///< round-robin start in the set
  std::size_t next_candidate = 0;              ///< the next endpoint of the set to try, from first_index
  bool out_of_descriptors = false;             ///< our own shortage ended the attempts
};

class Exchange {
 public:
  /// `head_size`: the request head's length at the start of the client's buffer.
  Exchange(SessionContext& ctx, ClientSide client, std::size_t head_size);

  boost::asio::awaitable<ExchangeOutcome> run();

 private:
  /// How one attempt ended: with a response head, with a reason to send again, or the exchange itself.
  struct AttemptEnd {
    enum class Kind { Response, SendAgain, Finished } kind = Kind::Finished;
    ExchangeOutcome outcome = ExchangeOutcome::Close;
  };
  static AttemptEnd finished(ExchangeOutcome outcome) { return {AttemptEnd::Kind::Finished, outcome}; }

  /// The reply refusing the request before it is routed, if any.
  std::optional<LocalReply> admit();
  boost::asio::awaitable<AttemptEnd> attempt();
  /// Takes a pooled connection or connects, trying further endpoints of the set on connect failure.
  boost::asio::awaitable<bool> acquire();
  boost::asio::awaitable<RelayResult> send_request();
  /// Reads the final response head, forwarding interim ones; false when the client went away.
  boost::asio::awaitable<bool> read_response_head(const char*& invalid);
  boost::asio::awaitable<AttemptEnd> after_failed_attempt(const RelayResult& sent, bool send_failed);
  boost::asio::awaitable<ExchangeOutcome> relay_response();
  boost::asio::awaitable<ExchangeOutcome> reply(LocalReply reply, bool keep_alive, SetKind set);
  void record_request(SetKind set, int status);
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
  std::string_view head_;
  RequestCheck check_;
  bool client_keep_ = false;
  bool body_expected_ = false;
  bool expect_continue_ = false;
  bool resend_safe_ = false;  ///< see resend_safe(): sent again when a reused connection turns out closed
  // A chunked body is decoded and encoded again; any other body is relayed as it comes. Chunk lines
  // and the trailer section are bounded like the header.
  ChunkedDecoder chunked_body_;
  SetKind chosen_ = SetKind::None;
  UpstreamAttempt attempt_;
  HeadRead got_;
  ResponseHead response_;
};

}  // namespace canaryd::proxy
