// Builds each command's control API call (see api_call.hpp); bodies are written by hand so that a percent
// keeps the digits the operator typed.
#include "ctl/api_call.hpp"

#include <boost/json.hpp>

namespace canaryd::ctl {
namespace {

/// A JSON object written member by member, so that a percent keeps the digits the operator typed:
/// Boost.JSON would print 33.33 as 3.333E1 (the same double, but not what the operator wrote).
class JsonObjectText {
 public:
  /// `json` must already be valid JSON (a validated number).
  void raw(std::string_view name, std::string_view json) {
    text_ += text_.empty() ? "{" : ",";
    text_ += boost::json::serialize(boost::json::string(name));
    text_ += ':';
    text_ += json;
  }
  void string(std::string_view name, std::string_view value) {
    raw(name, boost::json::serialize(boost::json::string(value)));
  }
  std::string done() const { return text_.empty() ? "{}" : text_ + "}"; }
  bool empty() const { return text_.empty(); }
  /// The members written so far appended to `object`, a JSON object's text ending in '}'.
  std::string appended_to(std::string_view object) const {
    if (text_.empty()) return std::string(object);
    std::string out(object.substr(0, object.rfind('}')));
    const bool has_members = out.find_first_not_of(" \t\r\n{") != std::string::npos;
    out += has_members ? "," : "";
    out += text_.substr(1);  // without the '{'
    return out + "}";
  }

 private:
  std::string text_;
};

/// `rollout start`: the plan with --cause and --if-revision added; an empty body (the server's plan)
/// when there is neither a plan nor an option. The steps' causes are the server's ("rollout step 1/4:
/// weight 5"), so the command line is not sent as a default cause for any rollout command.
std::string rollout_start_body(const Invocation& inv, std::string_view plan_json, JsonObjectText& body) {
  if (inv.cause) body.string("cause", *inv.cause);
  if (plan_json.empty()) return body.empty() ? std::string() : body.done();
  return body.appended_to(plan_json);
}

/// The last word of POST /api/rollout/ACTION.
std::string rollout_action(Command command) {
  switch (command) {
    case Command::RolloutPause: return "pause";
    case Command::RolloutResume: return "resume";
    case Command::RolloutAbort: return "abort";
    default: return "promote";
  }
}

/// route: {"cookies": {...}, "headers": {...}, "client_ip": "..."} for POST /api/explain. A name given
/// twice keeps its first value (the data plane reads the first one too).
std::string explain_body(const Invocation& inv) {
  boost::json::object body;
  const auto add = [&body](std::string_view field, const std::vector<std::pair<std::string, std::string>>& pairs) {
    if (pairs.empty()) return;
    boost::json::object o;
    for (const auto& [name, value] : pairs)
      if (!o.contains(name)) o[name] = value;
    body[field] = std::move(o);
  };
  add("cookies", inv.cookies);
  add("headers", inv.headers);
  if (inv.client_ip) body["client_ip"] = *inv.client_ip;
  return boost::json::serialize(body);
}

}  // namespace

ApiCall build_api_call(const Invocation& inv, std::string_view plan_json) {
  JsonObjectText body;
  if (inv.if_revision && is_change(inv.command)) body.raw("if_revision", std::to_string(*inv.if_revision));
  switch (inv.command) {
    case Command::Help:
    case Command::Version:
    case Command::Completion:
    case Command::Status:
      return {"GET", "/api/status", ""};
    case Command::History:
      return {"GET", "/api/history", ""};
    case Command::Weight:
      body.raw("canary_weight", inv.percent);
      body.string("cause", inv.effective_cause());
      return {"PUT", "/api/weight", body.done()};
    case Command::Promote:
      if (inv.force) body.raw("force", "true");
      body.string("cause", inv.effective_cause());
      return {"POST", "/api/promote", body.done()};
    case Command::Rollback:
      body.string("cause", inv.effective_cause());
      return {"POST", "/api/rollback", body.done()};
    case Command::Undo:
      if (inv.to_revision) body.raw("to_revision", std::to_string(*inv.to_revision));
      body.string("cause", inv.effective_cause());
      return {"POST", "/api/undo", body.done()};
    case Command::CanarySet:
      body.string("selector", inv.selector);
      if (!inv.percent.empty()) body.raw("canary_weight", inv.percent);
      body.string("cause", inv.effective_cause());
      return {"PUT", "/api/canary", body.done()};
    case Command::CanaryRemove:
      // The contract shows no body for DELETE, but every change records its cause and the server reads
      // an optional {"cause"} there too.
      body.string("cause", inv.effective_cause());
      return {"DELETE", "/api/canary", body.done()};
    case Command::RolloutStart:
      return {"POST", "/api/rollout", rollout_start_body(inv, plan_json, body)};
    case Command::RolloutStatus:
      return {"GET", "/api/rollout", ""};
    case Command::RolloutPause:
    case Command::RolloutResume:
    case Command::RolloutAbort:
    case Command::RolloutPromote:
      // Only an explicit --cause (an abort's becomes the rollout's reason): without one canaryd records
      // its own.
      if (inv.cause) body.string("cause", *inv.cause);
      return {"POST", "/api/rollout/" + rollout_action(inv.command), body.empty() ? std::string() : body.done()};
    case Command::Route:
      return {"POST", "/api/explain", explain_body(inv)};
    case Command::Wait:
      return {"GET", inv.wait_for == WaitFor::Healthy ? "/api/status" : "/api/rollout", ""};
  }
  return {"GET", "/api/status", ""};
}

}  // namespace canaryd::ctl
