// The control API's /api/* calls without sockets (see control_api.hpp): routes and methods, authorization,
// strict request bodies (unknown fields, duplicate keys, weights judged by their text), and the JSON answers.
#include "weights/control_api.hpp"

#include <initializer_list>
#include <random>

#include "config/labels.hpp"
#include "config/result.hpp"
#include "weights/api_error.hpp"
#include "weights/cause_rule.hpp"
#include "weights/json_text.hpp"
#include "weights/rollout_plan_json.hpp"
#include "weights/rollout_transitions.hpp"
#include "weights/utf8.hpp"

namespace canaryd::weights {

namespace {

namespace json = boost::json;

ApiReply error_reply(int status, const std::string& message) { return ApiReply{status, error_json(status, message)}; }

/// A malformed request: the message of its 400 answer.
struct BadRequest {
  std::string message;
};

/// A change call's body: its members, and the text of its numbers as written.
struct Body {
  json::object members;
  NumberTexts numbers;
};

/// The body as a JSON object, duplicate keys refused. An empty body counts as {} where the call's body
/// is optional.
Result<Body, BadRequest> body_object(const std::string& body, bool optional) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) {
    if (optional) return Body{};
    return fail(BadRequest{"request body must be a JSON object"});
  }
  Body out;
  auto value = parse_json(body, &out.numbers);
  if (!value) return fail(BadRequest{"request body: " + value.error().message});
  if (!value->is_object()) return fail(BadRequest{"request body must be a JSON object"});
  out.members = std::move(value->get_object());
  return out;
}

/// Unknown fields are errors, as in the config: a typo ("canary_wieght") must not be silently ignored.
/// Every change call also takes "cause" and "if_revision".
Result<void, BadRequest> check_fields(const Body& body, std::initializer_list<std::string_view> allowed) {
  for (const auto& kv : body.members) {
    bool known = kv.key() == "cause" || kv.key() == "if_revision";
    for (const auto name : allowed) known = known || kv.key() == name;
    if (!known) return fail(BadRequest{"unknown field \"" + std::string(kv.key()) + "\""});
  }
  return {};
}

/// canary_weight: a JSON number judged by its text (json_weight).
Result<config::BasisPoints, BadRequest> read_weight(const Body& body, std::string_view name) {
  auto bp = json_weight(body.members.at(name), body.numbers.find("/" + std::string(name)), name);
  if (!bp) return fail(BadRequest{std::move(bp).error().message});
  return *bp;
}

/// A revision number field (to_revision, if_revision): a positive integer.
Result<std::uint64_t, BadRequest> read_revision(const json::value& v, std::string_view name) {
  if (v.is_uint64() && v.get_uint64() > 0) return v.get_uint64();
  if (v.is_int64() && v.get_int64() > 0) return static_cast<std::uint64_t>(v.get_int64());
  return fail(BadRequest{std::string(name) + " must be a positive integer"});
}

/// The cause of the change: the text given, or a description of the call (like `kubectl --record`),
/// which is cut to the same bound as a given one (a selector may be long).
Result<std::string, BadRequest> read_cause(const Body& body, const std::string& default_cause) {
  const json::value* v = body.members.if_contains("cause");
  if (v == nullptr || v->is_null() || (v->is_string() && v->get_string().empty())) {
    return std::string(utf8_prefix(default_cause, kMaxCauseBytes));
  }
  if (!v->is_string()) return fail(BadRequest{"cause must be a string"});
  const std::string_view cause(v->get_string());
  if (const std::string problem = cause_problem(cause); !problem.empty()) {
    return fail(BadRequest{"cause: must be at most " + std::to_string(kMaxCauseBytes) +
                      " bytes of UTF-8 without control characters; " + problem});
  }
  return std::string(cause);
}

/// The state file stores selectors as their canonical strings; a selector whose string does not parse
/// back to itself (a label value with a comma, say) would make that file unreadable at the next start.
Result<void, BadRequest> check_storable(const config::Selector& sel) {
  const std::string text = sel.to_string();
  auto back = config::Selector::parse(text);
  if (!back || *back != sel) {
    return fail(BadRequest{"selector " + text + " cannot be represented in label-selector syntax" +
                      (back ? std::string() : ": " + back.error().message)});
  }
  return {};
}

Result<config::Selector, BadRequest> read_selector(const json::value& v) {
  std::optional<config::Selector> sel;
  if (const json::string* text = v.if_string()) {
    auto parsed = config::Selector::parse(std::string_view(*text));
    if (!parsed) return fail(BadRequest{"selector: " + parsed.error().message});
    sel = std::move(parsed).value();
  } else if (const json::object* labels = v.if_object()) {
    config::Labels map;
    for (const auto& kv : *labels) {
      if (!kv.value().is_string()) {
        return fail(BadRequest{"selector: label \"" + std::string(kv.key()) + "\" must have a string value"});
      }
      // The same rules as the string form (and the config), so both forms accept the same selectors.
      auto valid = config::validate_label_key(kv.key());
      if (valid) valid = config::validate_label_value(std::string_view(kv.value().get_string()));
      if (!valid) return fail(BadRequest{"selector: " + valid.error().message});
      map[std::string(kv.key())] = std::string(kv.value().get_string());
    }
    sel = config::Selector::from_labels(map);
  } else {
    return fail(BadRequest{"selector must be a label-selector string or an object of labels"});
  }
  // An empty selector means "every endpoint of the service": never a meaningful canary set.
  if (sel->empty()) return fail(BadRequest{"selector must not be empty"});
  if (auto storable = check_storable(*sel); !storable) return fail(std::move(storable).error());
  return std::move(*sel);
}

json::value endpoints_json(const config::Selector& set, const ServiceView& view) {
  json::array out;
  for (const auto& ep : view.endpoints) {
    if (!set.matches(ep.labels)) continue;
    json::object labels;
    for (const auto& [k, v] : ep.labels) labels[k] = v;
    json::object e;
    e["address"] = ep.address;
    e["labels"] = std::move(labels);
    e["healthy"] = ep.healthy;
    if (!ep.pod.empty()) e["pod"] = ep.pod;
    out.push_back(std::move(e));
  }
  return out;
}

/// `served`: the percent of the last minute's requests the set served, null before any; `requests`: how
/// many it served in that minute (contract section 7, "Served share").
json::value set_json(const config::Selector& set, const ServiceView& view, std::optional<double> served,
                     std::uint64_t requests) {
  json::object o;
  o["selector"] = set.to_string();
  o["endpoints"] = endpoints_json(set, view);
  if (served) {
    o["served"] = *served;
  } else {
    o["served"] = nullptr;
  }
  o["served_requests"] = requests;
  return o;
}

/// `unchanged`: the answer to a change that changed nothing adds "unchanged": true (contract section 7).
std::string render_status(const RoutingState& state, const ServiceView& view, bool unchanged = false) {
  json::object o;
  o["revision"] = state.revision;
  // A double: to_json_text prints it as 10.0 or 33.33, the contract's shape.
  o["canary_weight"] = config::weight_percent(state.canary_weight);
  o["updated_at"] = format_time(state.time);
  const auto& served = view.served;
  o["stable"] = set_json(config::Selector::conjunction(view.service_selector, state.stable), view, served.stable,
                         served.requests.stable);
  if (state.canary) {
    o["canary"] = set_json(config::Selector::conjunction(view.service_selector, *state.canary), view, served.canary,
                           served.requests.canary);
  } else {
    o["canary"] = nullptr;
  }
  // Always present (contract section 7): true from a rollback until a change sets a weight again.
  o["aborted"] = state.aborted;
  if (unchanged) o["unchanged"] = true;
  return to_json_text(o);
}

/// A validated change request: what to run and the cause to record when the caller gave none.
struct Change {
  std::function<TransitionResult(const RoutingHistory&, const TransitionContext&)> transition;
  std::string default_cause;  ///< describes the call, like `kubectl --record`
  std::optional<std::uint64_t> if_revision;  ///< the revision the caller expects to change
};

/// Runs the change on the history current when it is applied: the if_revision check belongs there, not
/// before queuing, or a change that raced another would pass it. A change that changes nothing yields
/// the current state with its revision unchanged.
TransitionResult run_change(const Change& c, const RoutingHistory& h, const TransitionContext& ctx) {
  if (c.if_revision && *c.if_revision != h.current().revision) {
    return fail(TransitionError{TransitionError::Kind::Conflict, "if_revision is " + std::to_string(*c.if_revision) +
                                                                     " but the current revision is " +
                                                                     std::to_string(h.current().revision)});
  }
  return c.transition(h, ctx);
}

Result<Change, BadRequest> parse_set_weight(const Body& body, const std::string& call) {
  if (auto checked = check_fields(body, {"canary_weight"}); !checked) return fail(std::move(checked).error());
  if (!body.members.contains("canary_weight")) return fail(BadRequest{"canary_weight is required"});
  auto weight = read_weight(body, "canary_weight");
  if (!weight) return fail(std::move(weight).error());
  const config::BasisPoints bp = *weight;
  return Change{[bp](const RoutingHistory& h, const TransitionContext& ctx) { return set_weight(h, bp, ctx); },
                call + " canary_weight=" + config::format_weight(bp), std::nullopt};
}

Result<Change, BadRequest> parse_define_canary(const Body& body, const std::string& call) {
  if (auto checked = check_fields(body, {"selector", "canary_weight"}); !checked) return fail(std::move(checked).error());
  const json::value* s = body.members.if_contains("selector");
  if (s == nullptr) return fail(BadRequest{"selector is required"});
  auto selector = read_selector(*s);
  if (!selector) return fail(std::move(selector).error());
  config::BasisPoints bp = 0;
  if (body.members.contains("canary_weight")) {
    auto weight = read_weight(body, "canary_weight");
    if (!weight) return fail(std::move(weight).error());
    bp = *weight;
  }
  config::Selector sel = std::move(selector).value();
  std::string cause = call + " selector=" + sel.to_string() + " canary_weight=" + config::format_weight(bp);
  return Change{[sel = std::move(sel), bp](const RoutingHistory& h, const TransitionContext& ctx) {
                  return define_canary(h, sel, bp, ctx);
                },
                std::move(cause), std::nullopt};
}

Result<Change, BadRequest> parse_undo(const Body& body, const std::string& call) {
  if (auto checked = check_fields(body, {"to_revision"}); !checked) return fail(std::move(checked).error());
  std::optional<std::uint64_t> to_revision;
  std::string cause = call;
  if (const json::value* r = body.members.if_contains("to_revision")) {
    auto revision = read_revision(*r, "to_revision");
    if (!revision) return fail(std::move(revision).error());
    to_revision = *revision;
    cause += " to_revision=" + std::to_string(*to_revision);
  }
  return Change{[to_revision](const RoutingHistory& h, const TransitionContext& ctx) {
                  return undo(h, to_revision, ctx);
                },
                std::move(cause), std::nullopt};
}

/// POST /api/promote: the optional `force` lifts the promote gate (a canary without a healthy endpoint).
Result<Change, BadRequest> parse_promote(const Body& body, const std::string& call) {
  if (auto checked = check_fields(body, {"force"}); !checked) return fail(std::move(checked).error());
  bool force = false;
  if (const json::value* f = body.members.if_contains("force")) {
    if (!f->is_bool()) return fail(BadRequest{"force must be true or false"});
    force = f->get_bool();
  }
  return Change{[force](const RoutingHistory& h, const TransitionContext& ctx) { return promote(h, ctx, force); },
                force ? call + " force=true" : call, std::nullopt};
}

/// rollback and DELETE /api/canary: the only field is the optional cause.
Result<Change, BadRequest> parse_cause_only(const Body& body, const std::string& call,
                                                  TransitionResult (*transition)(const RoutingHistory&,
                                                                                 const TransitionContext&)) {
  if (auto checked = check_fields(body, {}); !checked) return fail(std::move(checked).error());
  return Change{transition, call, std::nullopt};
}

/// POST /api/rollout: the plan in the body, or the config's when the body has none.
Result<Change, BadRequest> parse_rollout_start(const Body& body, const std::string& call, const RolloutHooks& hooks) {
  std::optional<config::RolloutPlan> plan;
  if (has_plan_fields(body.members)) {
    auto parsed = plan_from_json(json::value(body.members), &body.numbers);
    if (!parsed) return fail(BadRequest{parsed.error().message});
    plan = std::move(parsed).value();
  } else if (hooks.configured_plan) {
    plan = hooks.configured_plan();
  }
  if (!plan) return fail(BadRequest{"no plan: send one (\"steps\": [...]) or configure rollout: in the config file"});
  return Change{[plan = std::move(*plan), driver = hooks.driver](const RoutingHistory& h, const TransitionContext& ctx) {
                  return start_rollout(h, plan, driver, ctx);
                },
                call, std::nullopt};
}

/// The rollout calls without a plan: pause, resume, abort (its cause is the reason), promote.
Result<Change, BadRequest> parse_rollout_call(ControlCall call, const Body& body) {
  if (auto checked = check_fields(body, {}); !checked) return fail(std::move(checked).error());
  switch (call) {
    // No default cause: the transitions name the step ("rollout paused at step 2/4") unless given one.
    case ControlCall::RolloutPause: return Change{pause_rollout, "", std::nullopt};
    case ControlCall::RolloutResume: return Change{resume_rollout, "", std::nullopt};
    case ControlCall::RolloutAbort:
      return Change{[](const RoutingHistory& h, const TransitionContext& ctx) { return abort_rollout(h, ctx.cause, ctx); },
                    "aborted by an operator", std::nullopt};
    default: return Change{promote_rollout, "", std::nullopt};
  }
}

/// The fields every change call takes: the optional if_revision, and the cause (given or default).
Result<void, BadRequest> read_common_fields(const Body& body, Change& change, std::string& cause) {
  if (const json::value* r = body.members.if_contains("if_revision")) {
    auto revision = read_revision(*r, "if_revision");
    if (!revision) return fail(std::move(revision).error());
    change.if_revision = *revision;
  }
  auto read = read_cause(body, change.default_cause);
  if (!read) return fail(std::move(read).error());
  cause = std::move(read).value();
  return {};
}

/// The change a call asks for, read from its body.
Result<Change, BadRequest> parse_change(ControlCall call, const Body& body, const std::string& name,
                                       const RolloutHooks& hooks) {
  switch (call) {
    case ControlCall::RolloutStart: return parse_rollout_start(body, name, hooks);
    case ControlCall::RolloutPause:
    case ControlCall::RolloutResume:
    case ControlCall::RolloutAbort:
    case ControlCall::RolloutPromote: return parse_rollout_call(call, body);
    case ControlCall::SetWeight: return parse_set_weight(body, name);
    case ControlCall::DefineCanary: return parse_define_canary(body, name);
    case ControlCall::Undo: return parse_undo(body, name);
    case ControlCall::Promote: return parse_promote(body, name);
    case ControlCall::Rollback: return parse_cause_only(body, name, rollback);
    default: return parse_cause_only(body, name, remove_canary);  // DELETE /api/canary
  }
}

}  // namespace

bool bearer_matches(const std::string& authorization, const std::string& token) {
  // An empty token would accept "Bearer " from anyone; no token means authentication is off, which is
  // the caller's decision, not a match.
  if (token.empty()) return false;
  // The scheme is public and case-insensitive (RFC 9110 11.1); only the credential needs constant time.
  static constexpr std::string_view kScheme = "bearer";
  std::string_view rest(authorization);
  if (rest.size() <= kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = rest[i];
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower != kScheme[i]) return false;
  }
  rest.remove_prefix(kScheme.size());
  if (rest.front() != ' ') return false;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);

  // Every byte of what was received is compared, whatever differs first, and the loop length depends
  // only on the received value: the time taken reveals neither the token's bytes nor its length.
  unsigned char diff = rest.size() == token.size() ? 0 : 1;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    diff |= static_cast<unsigned char>(rest[i]) ^ static_cast<unsigned char>(token[i % token.size()]);
  }
  return diff == 0;
}

ControlApi::ControlApi(ControlService& service, std::string token, std::function<ServiceView()> view)
    : service_(service), token_(std::move(token)), view_(std::move(view)) {}

std::string ControlApi::status_json() const {
  const ServiceView view = view_ ? view_() : ServiceView{};
  return render_status(service_.current(), view);
}

std::string ControlApi::rollout_json() const { return render_rollout(service_.current(), rollout_live()); }

RolloutLive ControlApi::rollout_live() const { return rollout_.live ? rollout_.live() : RolloutLive{}; }

ApiReply ControlApi::explain_reply(const std::string& body) const {
  auto req = parse_explain_request(body);
  if (!req) return error_reply(400, req.error().message);
  const ServiceView view = view_ ? view_() : ServiceView{};
  const RoutingState& state = service_.current();
  // Where the data plane would draw, explain draws too (the answer says how likely each set is).
  thread_local std::mt19937 rng{std::random_device{}()};
  const auto draw = std::uniform_int_distribution<std::uint32_t>(0, config::kMaxBasisPoints - 1)(rng);
  const ExplainRules rules = explain_rules_ ? explain_rules_() : ExplainRules{};
  return ApiReply{200, render_explanation(explain(*req, rules, state, set_health(state, view), draw))};
}

std::string ControlApi::history_json() const {
  const ServiceView view = view_ ? view_() : ServiceView{};
  const RoutingHistory history = service_.history();
  json::array revisions;
  for (const RoutingState& r : history.revisions()) {
    json::object o;
    o["revision"] = r.revision;
    o["time"] = format_time(r.time);
    o["canary_weight"] = config::weight_percent(r.canary_weight);
    // Joined with today's service selector, like status: the sets as they would be selected now.
    o["stable"] = config::Selector::conjunction(view.service_selector, r.stable).to_string();
    if (r.canary) {
      o["canary"] = config::Selector::conjunction(view.service_selector, *r.canary).to_string();
    } else {
      o["canary"] = nullptr;
    }
    o["cause"] = r.cause;
    revisions.push_back(std::move(o));
  }
  json::object doc;
  doc["revisions"] = std::move(revisions);
  return to_json_text(doc);
}

std::variant<ApiReply, ControlApi::Prepared> ControlApi::prepare(const ApiRequest& req, Clock::time_point now) const {
  const std::string path = req.target.substr(0, req.target.find('?'));
  if (!path.starts_with("/api/")) return error_reply(404, "not found: " + path);
  // Authentication before routing, so that an unauthenticated caller cannot even probe which paths exist.
  if (!token_.empty() && !bearer_matches(req.authorization, token_)) {
    return error_reply(401, "missing or invalid bearer token");
  }
  const ControlRoute* route = find_route(path, req.method);
  if (route == nullptr) {
    const std::string methods = allowed_methods(path);
    if (methods.empty()) return error_reply(404, "no such API endpoint: " + path);
    return error_reply(405, "method " + req.method + " not allowed on " + path + " (allowed: " + methods + ")");
  }

  if (route->call == ControlCall::Status) return ApiReply{200, status_json()};
  if (route->call == ControlCall::History) return ApiReply{200, history_json()};
  if (route->call == ControlCall::RolloutStatus) return ApiReply{200, rollout_json()};
  if (route->call == ControlCall::Explain) return explain_reply(req.body);

  // Every remaining call changes the state. Its body is validated completely before anything runs, so
  // malformed input never reaches the service.
  auto parsed = body_object(req.body, route->body == BodyRule::Optional);
  if (!parsed) return error_reply(400, parsed.error().message);
  const Body& body = *parsed;
  auto change = parse_change(route->call, body, req.method + " " + path, rollout_);
  if (!change) return error_reply(400, change.error().message);
  Change& c = *change;
  std::string cause;
  if (auto read = read_common_fields(body, c, cause); !read) return error_reply(400, read.error().message);

  // The view is taken once, as the call arrives: the transition checks against it (also when it waits its
  // turn behind a pending write) and the reply shows the same endpoints.
  ServiceView view = view_ ? view_() : ServiceView{};
  TransitionContext ctx = transition_context(view, cause, now);

  // The revision the change is computed on, when its turn comes: the answer says "unchanged" when the
  // resulting state still has it.
  auto base_revision = std::make_shared<std::uint64_t>(service_.current().revision);
  return Prepared{[c = std::move(c), ctx = std::move(ctx), base_revision](const RoutingHistory& h) {
                    *base_revision = h.current().revision;
                    return run_change(c, h, ctx);
                  },
                  std::move(view), base_revision, std::move(cause), is_rollout_call(route->call)};
}

void ControlApi::handle(const ApiRequest& req, Clock::time_point now, std::function<void(ApiReply)> done) const {
  auto prepared = prepare(req, now);
  if (auto* reply = std::get_if<ApiReply>(&prepared)) {
    // A refusal before the service (or a read, which the transport does not audit): nothing changed.
    const std::uint64_t revision = service_.current().revision;
    reply->change = ChangeFacts{revision, revision, ""};
    return done(std::move(*reply));
  }
  Prepared& change = std::get<Prepared>(prepared);
  service_.apply(std::move(change.transition),
                 [this, view = std::move(change.view), base = std::move(change.base_revision),
                  cause = std::move(change.cause), rollout_reply = change.rollout_reply,
                  done = std::move(done)](ControlService::ApplyResult result) {
                   if (!result) {
                     ApiReply reply = error_reply(http_status(result.error().kind), result.error().message);
                     reply.change = ChangeFacts{*base, *base, cause};
                     return done(std::move(reply));
                   }
                   // The state this call produced, not whatever is current by now: the answer describes
                   // this change.
                   const RoutingState& state = *result;
                   const bool unchanged = state.revision == *base;
                   // The rollout calls answer with the rollout document, the others with the status.
                   ApiReply reply{200, rollout_reply ? render_rollout(state, rollout_live(), unchanged)
                                                     : render_status(state, view, unchanged)};
                   reply.change = ChangeFacts{*base, state.revision, cause};
                   done(std::move(reply));
                 });
}

}  // namespace canaryd::weights
