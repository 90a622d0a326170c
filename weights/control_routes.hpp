// The control port's route table: every path it answers (the probes /healthz, /readyz, /metrics and
// the /api/ calls), the methods each takes and what each call does with a body. The one list that the
// dispatch and the 405 answers (and their Allow header) read.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace canaryd::weights {

/// What a route does; the dispatch switches on it.
enum class ControlCall {
  Healthz,  ///< the process is up
  Readyz,   ///< the process serves (a healthy stable endpoint, the first pod list)
  Metrics,  ///< Prometheus text
  Status,
  History,
  SetWeight,
  Promote,
  Rollback,
  Undo,
  DefineCanary,
  RemoveCanary,
  RolloutStatus,
  RolloutStart,
  RolloutPause,
  RolloutResume,
  RolloutAbort,
  RolloutPromote,
  Explain,  ///< where a described request would go now and why (contract section 8); changes nothing
};

/// What a call does with its body.
enum class BodyRule {
  Ignored,   ///< a read: whatever is sent is not looked at
  Optional,  ///< a change whose fields are all optional: an empty body counts as {}
  Required,  ///< a change that needs a JSON object
};

/// One method on one path.
struct ControlRoute {
  std::string_view path;
  std::string_view method;
  ControlCall call;
  BodyRule body;
};

// The rows of one path follow each other, in the order a 405's Allow lists their methods.
inline constexpr std::array<ControlRoute, 18> kControlRoutes = {{
    {"/healthz", "GET", ControlCall::Healthz, BodyRule::Ignored},
    {"/readyz", "GET", ControlCall::Readyz, BodyRule::Ignored},
    {"/metrics", "GET", ControlCall::Metrics, BodyRule::Ignored},
    {"/api/status", "GET", ControlCall::Status, BodyRule::Ignored},
    {"/api/weight", "PUT", ControlCall::SetWeight, BodyRule::Required},
    {"/api/promote", "POST", ControlCall::Promote, BodyRule::Optional},
    {"/api/rollback", "POST", ControlCall::Rollback, BodyRule::Optional},
    {"/api/undo", "POST", ControlCall::Undo, BodyRule::Optional},
    {"/api/canary", "PUT", ControlCall::DefineCanary, BodyRule::Required},
    {"/api/canary", "DELETE", ControlCall::RemoveCanary, BodyRule::Optional},
    {"/api/history", "GET", ControlCall::History, BodyRule::Ignored},
    {"/api/rollout", "GET", ControlCall::RolloutStatus, BodyRule::Ignored},
    {"/api/rollout", "POST", ControlCall::RolloutStart, BodyRule::Optional},
    {"/api/rollout/pause", "POST", ControlCall::RolloutPause, BodyRule::Optional},
    {"/api/rollout/resume", "POST", ControlCall::RolloutResume, BodyRule::Optional},
    {"/api/rollout/abort", "POST", ControlCall::RolloutAbort, BodyRule::Optional},
    {"/api/rollout/promote", "POST", ControlCall::RolloutPromote, BodyRule::Optional},
    {"/api/explain", "POST", ControlCall::Explain, BodyRule::Optional},
}};

/// The probes are the process's own answers, outside the API: plain text, never behind the token.
constexpr bool is_probe(ControlCall call) {
  return call == ControlCall::Healthz || call == ControlCall::Readyz || call == ControlCall::Metrics;
}

/// The calls that change nothing: no revision, no audit line (POST /api/explain is a read sent as a POST,
/// since its question is a JSON body).
constexpr bool is_read(ControlCall call) {
  return call == ControlCall::Status || call == ControlCall::History || call == ControlCall::RolloutStatus ||
         call == ControlCall::Explain;
}

/// The rollout's change calls answer with the rollout document (GET /api/rollout's), not the status.
constexpr bool is_rollout_call(ControlCall call) {
  return call == ControlCall::RolloutStart || call == ControlCall::RolloutPause ||
         call == ControlCall::RolloutResume || call == ControlCall::RolloutAbort ||
         call == ControlCall::RolloutPromote;
}

/// The first route of `path`, whatever its method; null when the path is not in the table.
const ControlRoute* find_path(std::string_view path);

/// The route for `method` on `path` (without a query string; methods are case-sensitive); null when
/// there is none.
const ControlRoute* find_route(std::string_view path, std::string_view method);

/// The methods `path` takes, for a 405's Allow header ("GET", "PUT, DELETE"); "" when the path is not
/// in the table.
std::string allowed_methods(std::string_view path);

}  // namespace canaryd::weights
