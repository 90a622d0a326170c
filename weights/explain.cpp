// POST /api/explain's logic (see explain.hpp): the strict body, the routing facts of the described
// request, decide_route, and the answer's JSON.
#include "weights/explain.hpp"

#include <algorithm>

#include <boost/asio/ip/address.hpp>

#include "weights/affinity.hpp"
#include "weights/control_service.hpp"
#include "weights/json_text.hpp"

namespace canaryd::weights {

namespace {

namespace json = boost::json;

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

/// A header value as the data plane sees it: without surrounding spaces and tabs.
std::string_view trimmed(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

/// "cookies" or "headers": an object of strings, bounded.
Result<std::vector<std::pair<std::string, std::string>>> read_pairs(const json::value& v, std::string_view field) {
  const json::object* o = v.if_object();
  if (o == nullptr) return fail(std::string(field) + " must be an object of strings");
  if (o->size() > kMaxExplainEntries)
    return fail(std::string(field) + ": at most " + std::to_string(kMaxExplainEntries) + " entries");
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& kv : *o) {
    const std::string name(kv.key());
    if (!kv.value().is_string()) return fail(std::string(field) + "." + name + " must be a string");
    const std::string value(kv.value().get_string());
    if (name.empty()) return fail(std::string(field) + ": a name must not be empty");
    if (name.size() > kMaxExplainText || value.size() > kMaxExplainText)
      return fail(std::string(field) + "." + name + ": names and values are at most " +
                  std::to_string(kMaxExplainText) + " bytes");
    out.emplace_back(name, value);
  }
  return out;
}

/// client_ip: its canonical text and bytes into `out`.
Result<void> read_client_ip(const json::value& v, ExplainRequest& out) {
  if (!v.is_string()) return fail("client_ip must be a string");
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(std::string(v.get_string()), ec);
  if (ec) return fail("client_ip: not an IPv4 or IPv6 address: " + std::string(v.get_string()));
  // A dual-stack socket reports an IPv4 client as ::ffff:a.b.c.d: the same client, the same key.
  if (addr.is_v6() && addr.to_v6().is_v4_mapped())
    addr = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, addr.to_v6());
  out.client_ip = addr.to_string();
  if (addr.is_v4()) {
    const auto b = addr.to_v4().to_bytes();
    out.client_bytes.assign(b.begin(), b.end());
  } else {
    const auto b = addr.to_v6().to_bytes();
    out.client_bytes.assign(b.begin(), b.end());
  }
  return {};
}

/// Whether the request's overrides count: no sources configured, or client_ip is in one of them.
/// Without client_ip the request counts as coming from outside the sources.
bool honoured(const ExplainRequest& req, const ExplainRules& rules) {
  if (rules.override_sources.empty()) return true;
  if (req.client_bytes.size() == 4) {
    config::Ipv4Bytes b{};
    std::copy(req.client_bytes.begin(), req.client_bytes.end(), b.begin());
    return config::any_contains(rules.override_sources, b);
  }
  if (req.client_bytes.size() == 16) {
    config::Ipv6Bytes b{};
    std::copy(req.client_bytes.begin(), req.client_bytes.end(), b.begin());
    return config::any_contains(rules.override_sources, b);
  }
  return false;
}

const std::string* find_header(const ExplainRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.headers)
    if (iequals(k, name)) return &v;
  return nullptr;
}

const std::string* find_cookie(const ExplainRequest& req, std::string_view name) {
  for (const auto& [k, v] : req.cookies)
    if (k == name) return &v;
  return nullptr;
}

/// A cookie value as the data plane reads it from a Cookie field: without surrounding whitespace, and
/// without the double quotes of a quoted value.
std::string_view cookie_value(std::string_view v) {
  v = trimmed(v);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  return v;
}

/// What an override value asks: always|never, case-insensitive; anything else asks nothing.
Forced forced(std::optional<std::string_view> value) {
  if (!value) return Forced::None;
  const std::string_view v = *value;
  if (iequals(v, "always")) return Forced::Canary;
  if (iequals(v, "never")) return Forced::Stable;
  return Forced::None;
}

/// The affinity key of the request, if it has one.
std::optional<std::string_view> affinity_key(const ExplainRequest& req, const ExplainRules& rules) {
  switch (rules.affinity) {
    case AffinityKind::Cookie:
      if (const std::string* c = find_cookie(req, rules.affinity_name)) return cookie_value(*c);
      return std::nullopt;
    case AffinityKind::Header:
      if (const std::string* h = find_header(req, rules.affinity_name)) return trimmed(*h);
      return std::nullopt;
    case AffinityKind::ClientIp:
      if (req.client_ip) return std::string_view(*req.client_ip);
      return std::nullopt;
    default: return std::nullopt;
  }
}

}  // namespace

ExplainRules explain_rules(const config::Routing& routing) {
  ExplainRules r;
  r.override_header = routing.override_header;
  r.override_cookie = routing.override_cookie;
  r.override_sources = routing.override_sources;
  switch (routing.affinity.key) {
    case config::Affinity::Key::Cookie: r.affinity = AffinityKind::Cookie; break;
    case config::Affinity::Key::Header: r.affinity = AffinityKind::Header; break;
    case config::Affinity::Key::ClientIp: r.affinity = AffinityKind::ClientIp; break;
    default: r.affinity = AffinityKind::None; break;
  }
  r.affinity_name = routing.affinity.name;
  r.set_cookie = routing.affinity.set_cookie;
  return r;
}

Result<ExplainRequest> parse_explain_request(std::string_view body) {
  ExplainRequest out;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return out;  // {}: a bare request
  auto doc = parse_json(body);
  if (!doc) return fail("request body: " + doc.error().message);
  const json::object* o = doc->if_object();
  if (o == nullptr) return fail("request body must be a JSON object");
  for (const auto& kv : *o) {
    if (kv.key() == "cookies") {
      auto pairs = read_pairs(kv.value(), "cookies");
      if (!pairs) return fail(std::move(pairs).error());
      out.cookies = std::move(pairs).value();
    } else if (kv.key() == "headers") {
      auto pairs = read_pairs(kv.value(), "headers");
      if (!pairs) return fail(std::move(pairs).error());
      out.headers = std::move(pairs).value();
    } else if (kv.key() == "client_ip") {
      if (kv.value().is_null()) continue;
      if (auto ip = read_client_ip(kv.value(), out); !ip) return fail(std::move(ip).error());
    } else {
      return fail("unknown field \"" + std::string(kv.key()) + "\"");
    }
  }
  return out;
}

SetHealth set_health(const RoutingState& state, const ServiceView& view) {
  SetHealth h{false, false};
  const auto stable = config::Selector::conjunction(view.service_selector, state.stable);
  std::optional<config::Selector> canary;
  if (state.canary) canary = config::Selector::conjunction(view.service_selector, *state.canary);
  for (const auto& ep : view.endpoints) {
    if (!ep.healthy) continue;
    // Like the snapshot: an endpoint in both counts as stable (the sets are kept disjoint anyway).
    if (stable.matches(ep.labels))
      h.stable = true;
    else if (canary && canary->matches(ep.labels))
      h.canary = true;
  }
  return h;
}

Explanation explain(const ExplainRequest& req, const ExplainRules& rules, const RoutingState& state,
                    SetHealth health, std::uint32_t draw) {
  RouteFacts f;
  f.canary_aborted = state.canary && state.aborted;
  f.weight = state.canary ? state.canary_weight : 0;
  f.stable_healthy = health.stable;
  f.canary_healthy = state.canary && health.canary;
  const bool overrides = honoured(req, rules);
  if (overrides && !rules.override_header.empty()) {
    if (const std::string* h = find_header(req, rules.override_header)) f.header = forced(trimmed(*h));
  }
  if (overrides && !rules.override_cookie.empty()) {
    if (const std::string* c = find_cookie(req, rules.override_cookie)) f.cookie = forced(cookie_value(*c));
  }

  Explanation e;
  e.weight = f.weight;
  if (auto key = affinity_key(req, rules)) {
    e.bucket = affinity_bucket(*key, state.affinity_salt);
    f.bucket = e.bucket;
  } else if (rules.affinity == AffinityKind::Cookie && !rules.set_cookie.empty()) {
    // The data plane gives this client a fresh random cookie and routes it by that cookie's bucket.
    e.new_cookie = true;
  }

  // Where a draw could decide, the request is decided at both ends of it: when they agree the rules
  // decided; when not, the canary gets the weight's share of such requests.
  auto decide = [&](bool canary_side) {
    RouteFacts g = f;
    if (e.new_cookie) g.bucket = canary_side ? 0u : kAffinityBuckets - 1;
    return decide_route(g, [canary_side] { return canary_side; });
  };
  const RouteDecision high = decide(true);
  const RouteDecision low = decide(false);
  const bool drawn = draw < f.weight;
  e.decision = drawn ? high : low;
  if (high.set == low.set) {
    e.canary_probability = high.set == RouteSet::Canary ? 1.0 : 0.0;
  } else {
    e.canary_probability = static_cast<double>(f.weight) / kAffinityBuckets;
  }
  return e;
}

std::string render_explanation(const Explanation& e) {
  json::object o;
  switch (e.decision.set) {
    case RouteSet::Stable: o["set"] = "stable"; break;
    case RouteSet::Canary: o["set"] = "canary"; break;
    default: o["set"] = nullptr; break;
  }
  o["reason"] = reason_name(e.decision.reason);
  if (e.bucket) {
    o["bucket"] = *e.bucket;
  } else {
    o["bucket"] = nullptr;
  }
  o["canary_weight"] = config::weight_percent(e.weight);
  o["canary_probability"] = e.canary_probability;
  o["new_cookie"] = e.new_cookie;
  return to_json_text(o);
}

}  // namespace canaryd::weights
