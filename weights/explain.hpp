// POST /api/explain (contract section 8): where a request with given cookies, headers and client address
// would go now and why. The request's routing facts are gathered the way the data plane gathers them
// and the answer comes from weights::decide_route, the data plane's own precedence, so "why did this user
// get v2?" is answered by the code that routed the user. Pure: no sockets, no clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/cidr.hpp"
#include "config/config.hpp"
#include "config/result.hpp"
#include "weights/route_decision.hpp"
#include "weights/routing_state.hpp"

namespace canaryd::weights {

struct ServiceView;

/// Where the affinity key comes from (routing.affinity.key).
enum class AffinityKind : std::uint8_t { None, Cookie, Header, ClientIp };

/// The config's routing rules, as explain needs them (the process fills them from routing:).
struct ExplainRules {
  std::string override_header;  ///< "" disables
  std::string override_cookie;  ///< "" disables
  /// Whose overrides are honoured (matched against client_ip); empty: every client's.
  std::vector<config::Cidr> override_sources;
  AffinityKind affinity = AffinityKind::None;
  std::string affinity_name;  ///< the cookie or header name (Cookie, Header)
  std::string set_cookie;     ///< "" or the affinity cookie's name: clients without it get a fresh one
};

/// The rules of the config's routing: section.
ExplainRules explain_rules(const config::Routing& routing);

/// The request to explain: POST /api/explain's body.
struct ExplainRequest {
  std::vector<std::pair<std::string, std::string>> cookies;  ///< in the order given; the first of a name wins
  std::vector<std::pair<std::string, std::string>> headers;  ///< names case-insensitive; the first wins
  std::optional<std::string> client_ip;  ///< canonical text (an IPv4-mapped IPv6 address as IPv4)
  /// client_ip's bytes: IPv4 (4) or IPv6 (16); empty without client_ip.
  std::vector<std::uint8_t> client_bytes;
};

/// Bounds of the body: entries per object and bytes per name or value.
inline constexpr std::size_t kMaxExplainEntries = 64;
inline constexpr std::size_t kMaxExplainText = 4096;

/// Reads the body strictly: a JSON object with only "cookies" and "headers" (objects of strings) and
/// "client_ip" (an IPv4 or IPv6 address), all optional; duplicate keys, unknown fields, other types and
/// oversized entries are errors (400).
Result<ExplainRequest> parse_explain_request(std::string_view body);

/// Whether each set has a healthy endpoint now (in the view, the sets as the state selects them).
struct SetHealth {
  bool stable = true;
  bool canary = false;  ///< false also without a canary
};
SetHealth set_health(const RoutingState& state, const ServiceView& view);

struct Explanation {
  RouteDecision decision;               ///< decision.set None: no set has a healthy endpoint (a 503)
  std::optional<std::uint32_t> bucket;  ///< the request's affinity key's bucket; none without a key
  /// The chance such a request goes to the canary: 0 or 1 when the rules decide, the weight's share when
  /// a draw does (the weight, or the random cookie set_cookie would issue).
  double canary_probability = 0;
  bool new_cookie = false;  ///< set_cookie would give this client a fresh affinity cookie
  config::BasisPoints weight = 0;  ///< the canary weight in force (0 without a canary)
};

/// The explanation of `req` under `rules` on `state` with `health`. `draw` (0..9999) is the random
/// number used where the data plane would draw (the splitter at the weight, or a fresh cookie's
/// bucket): the answer's set is then one such draw, and canary_probability says how likely each is.
Explanation explain(const ExplainRequest& req, const ExplainRules& rules, const RoutingState& state,
                    SetHealth health, std::uint32_t draw);

/// {"set": "stable"|"canary"|null, "reason": "...", "bucket": N|null, "canary_weight": percent,
///  "canary_probability": p, "new_cookie": bool}
std::string render_explanation(const Explanation& e);

}  // namespace canaryd::weights
