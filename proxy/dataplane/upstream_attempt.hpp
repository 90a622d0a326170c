// The upstream side of one request, shared by the HTTP/1.1 exchange and the HTTP/2 streams: what the
// routing reads of a request (its hints), and the attempts at an upstream connection of the chosen set
// (a pooled one, or new ones to further endpoints on connect failure).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "proxy/dataplane/session_context.hpp"
#include "proxy/dataplane/set_choice.hpp"
#include "proxy/http/cookies.hpp"
#include "proxy/http/head_rewrite.hpp"
#include "proxy/http/local_reply.hpp"
#include "proxy/http/request_validator.hpp"
#include "proxy/http/response_head.hpp"

namespace canaryd::proxy {

/// One upstream attempt's connection: where it goes and what the request may still spend.
struct UpstreamAttempt {
  UpstreamPool::Connection connection;
  const UpstreamEndpoint* endpoint = nullptr;  ///< into the request's snapshot
  bool reused = false;                         ///< taken from the pool, not opened for this request
  unsigned connects_left = 0;                  ///< new connections the request may open, retries included
  std::uint32_t first_index = 0;               ///< round-robin start in the set
  std::size_t next_candidate = 0;              ///< the next endpoint of the set to try, from first_index
  bool out_of_descriptors = false;             ///< our own shortage ended the attempts
};

/// What the routing reads of a request (its overrides when they count, its affinity bucket). Issues the
/// affinity cookie (into `issued`) when routing.affinity.set_cookie asks and the request has none.
RouteHints request_route_hints(const RoutingSnapshot& snap, const RequestCheck& check, bool override_allowed,
                               std::string_view key_ip, std::mt19937_64& random, std::optional<CookieValue>& issued);

/// Chooses the set (choose_set) and counts the decision and any fallback; when a set was chosen, `a`
/// starts at the next round-robin position of it with the snapshot's retries.
SetChoice route_request(SessionContext& ctx, const RoutingSnapshot& snap, const RouteHints& hints, UpstreamAttempt& a);

/// The rewrite of an upstream response head for the client that every protocol starts from: Via, the set
/// and reason headers, the affinity cookie given to this client (`issued`, if any).
ClientResponseRewrite response_rewrite(const RoutingSnapshot& snap, const ResponseHead& response, SetKind chosen,
                                       weights::RouteReason reason, const std::optional<CookieValue>& issued);

/// Takes a pooled connection of `set` or connects, trying further endpoints of the set on connect
/// failure (each failure counted and blamed for passive ejection). False when none could be had
/// (`a.out_of_descriptors` tells our own shortage).
boost::asio::awaitable<bool> acquire_upstream(SessionContext& ctx, const RoutingSnapshot& snap, SetKind set,
                                              bool resend_safe, UpstreamAttempt& a);

/// After an attempt without a usable response head (resend_policy.hpp): the connection is dropped, the
/// endpoint blamed and the error counted as the policy says. nullopt: send the request again on another
/// connection; otherwise the reply to give. `send_error`/`send_failed`: how sending the request went;
/// `head_error`: how reading the response head ended.
std::optional<LocalReply> after_failed_attempt(SessionContext& ctx, SetKind chosen, bool resend_safe,
                                               UpstreamAttempt& a, const boost::system::error_code& send_error,
                                               bool send_failed, const boost::system::error_code& head_error);

/// What the access log says of one finished request, HTTP/1.1 exchange or HTTP/2 stream alike.
struct RequestFacts {
  std::string_view client;
  std::string_view method;
  std::string_view target;
  int status = 0;
  SetKind set = SetKind::None;
  weights::RouteReason reason = weights::RouteReason::Weight;
  const UpstreamEndpoint* endpoint = nullptr;  ///< null: canaryd answered itself
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::chrono::steady_clock::time_point started;
};

/// The access log line of a finished request, when the snapshot's access_log is on; handed over at
/// once while draining (the worker's timer is off then).
void log_request(SessionContext& ctx, const RoutingSnapshot& snap, const RequestFacts& facts);

/// Closes the attempt's connection, if any, and counts it gone.
void drop_upstream(SessionContext& ctx, UpstreamAttempt& a);

}  // namespace canaryd::proxy
