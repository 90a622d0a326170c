// What canaryctl reads from the control API's answers: the status and history documents as plain views,
// made printable, and the message to show for a refusal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/result.hpp"

namespace canaryd::ctl {

/// What canaryctl reads of an endpoint in the status document.
struct EndpointView {
  std::string address;
  bool healthy = true;
  std::string pod;  ///< with Kubernetes discovery
};

struct SetView {
  std::string selector;
  std::vector<EndpointView> endpoints;
  bool has_served = false;           ///< the server sent "served" (contract section 7)
  std::optional<double> served;      ///< percent of the last minute's requests; null before any
  std::uint64_t served_requests = 0; ///< how many the set served in that minute
};

/// The status document of contract section 4 (also the answer of every change).
struct StatusView {
  std::uint64_t revision = 0;
  double canary_weight = 0;
  std::string updated_at;
  SetView stable;
  std::optional<SetView> canary;
  bool unchanged = false;  ///< the answer to a change that changed nothing ("unchanged": true)
  bool aborted = false;    ///< rolled back: the canary serves nothing until a weight is set again
};

/// One revision of GET /api/history.
struct RevisionView {
  std::uint64_t revision = 0;
  std::string time;
  double canary_weight = 0;
  std::string stable;
  std::optional<std::string> canary;
  std::string cause;
};

/// Parses a status document. On failure the error says what is missing or malformed.
/// Every string read from the server is made printable (terminal_text.hpp), here and in parse_history.
Result<StatusView> parse_status(std::string_view json);

/// Parses {"revisions": [...]}, keeping the server's order (oldest first).
Result<std::vector<RevisionView>> parse_history(std::string_view json);

/// True when the text is one JSON value (a refusal printed as is under -o json must be JSON).
bool is_json(std::string_view text);

/// The message to print for a refusal: the "error" of {"error": "..."}, else the status line and the
/// start of whatever came back (a proxy in between may answer in HTML); printable either way.
std::string refusal_message(int status, std::string_view reason, std::string_view body);

/// The line printed under a 401: where canaryctl takes the token from (--token-file, CANARYD_TOKEN),
/// worded after whether one was sent. No trailing newline.
std::string unauthorized_hint(bool token_sent);

}  // namespace canaryd::ctl
