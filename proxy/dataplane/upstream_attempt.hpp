// The upstream side of one request, shared by the HTTP/1.1 exchange and the HTTP/2 streams: what the
// routing reads of a request (its hints), and the attempts at an upstream connection of the chosen set
// (a pooled one, or new ones to further endpoints on connect failure).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "proxy/dataplane/session_context.hpp"
#include "proxy/dataplane/set_choice.hpp"
#include "proxy/http/cookies.hpp"
#include "proxy/http/request_validator.hpp"

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

/// Takes a pooled connection of `set` or connects, trying further endpoints of the set on connect
/// failure (each failure counted and blamed for passive ejection). False when none could be had
/// (`a.out_of_descriptors` tells our own shortage).
boost::asio::awaitable<bool> acquire_upstream(SessionContext& ctx, const RoutingSnapshot& snap, SetKind set,
                                              bool resend_safe, UpstreamAttempt& a);

/// Closes the attempt's connection, if any, and counts it gone.
void drop_upstream(SessionContext& ctx, UpstreamAttempt& a);

}  // namespace canaryd::proxy
