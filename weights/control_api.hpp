// The control API's logic for /api/* (contract section 4), independent of the transport: a parsed request
// in, a status and JSON body out, changes run through ControlService.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "weights/control_routes.hpp"
#include "weights/control_service.hpp"
#include "weights/explain.hpp"
#include "weights/rollout_api.hpp"

namespace canaryd::weights {

/// A control API call with everything the transport parsed.
struct ApiRequest {
  std::string method;         ///< "GET", "PUT", ...
  std::string target;         ///< path, maybe with a query ("/api/status")
  std::string body;           ///< at most 64 KiB (the transport answers 413 above that)
  std::string authorization;  ///< the Authorization header as received, "" when absent
};

/// What the audit line of a change call says (contract section 7): the revision it was computed on and
/// the one it left, equal when nothing changed, and its cause.
struct ChangeFacts {
  std::uint64_t revision_before = 0;
  std::uint64_t revision_after = 0;
  std::string cause;
};

struct ApiReply {
  int status = 200;
  std::string body;  ///< JSON, or {"error": "..."}
  /// Set by ControlApi::handle on every answer (the transport audits those that are not reads).
  std::optional<ChangeFacts> change = std::nullopt;
};

/// The /api/* calls of contract section 4, independent of sockets: validates the request, runs the
/// transition through ControlService, renders JSON. Main thread only.
class ControlApi {
 public:
  /// `token` empty: no authentication. `view` supplies the current endpoints for status and checks.
  ControlApi(ControlService& service, std::string token, std::function<ServiceView()> view);

  /// Handles one /api/* request; paths outside /api/ answer 404. Reads and refusals are answered before
  /// this returns; a change is answered once the service has stored it (or failed to).
  void handle(const ApiRequest& req, Clock::time_point now, std::function<void(ApiReply)> done) const;

  /// What the rollout calls need from the process (the configured plan, the driver's live view).
  void set_rollout_hooks(RolloutHooks hooks) { rollout_ = std::move(hooks); }

  /// The config's routing rules, which POST /api/explain applies (read at each call, so a reload counts).
  void set_explain_rules(std::function<ExplainRules()> rules) { explain_rules_ = std::move(rules); }

  /// Replaces the token (reload).
  void set_token(std::string token) { token_ = std::move(token); }

  /// The status document of contract section 4.
  std::string status_json() const;
  /// {"revisions": [...]} oldest first.
  std::string history_json() const;
  /// GET /api/rollout (contract section 7).
  std::string rollout_json() const;
  /// POST /api/explain (contract section 8): 200 with the explanation, or 400 for a malformed body.
  ApiReply explain_reply(const std::string& body) const;

 private:
  /// A valid change request, ready for the service: its transition, and the endpoints its answer shows.
  struct Prepared {
    ControlService::Transition transition;
    ServiceView view;
    std::shared_ptr<std::uint64_t> base_revision;  ///< set by the transition when it runs
    std::string cause;                              ///< for the audit line
    bool rollout_reply = false;                     ///< answered with the rollout document
  };
  /// Everything handle() decides without the service: the answer, or the change to run.
  /// Not a Result: an immediate answer (a 200 status document included) is not an error.
  std::variant<ApiReply, Prepared> prepare(const ApiRequest& req, Clock::time_point now) const;

  RolloutLive rollout_live() const;

  ControlService& service_;
  RolloutHooks rollout_;
  std::function<ExplainRules()> explain_rules_;
  std::string token_;
  std::function<ServiceView()> view_;
};

/// Constant-time comparison of a received Authorization header against "Bearer <token>".
bool bearer_matches(const std::string& authorization, const std::string& token);

}  // namespace canaryd::weights
