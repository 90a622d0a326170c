// `canaryctl route`: the explain answer read and said in one line (see route_view.hpp).
#include "ctl/route_view.hpp"

#include <boost/json.hpp>
#include <cmath>

#include "ctl/render.hpp"
#include "ctl/terminal_text.hpp"

namespace canaryd::ctl {
namespace {

namespace json = boost::json;

std::optional<double> number(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

/// Why the rule put the request where it did, after "REASON: ".
std::string why(const RouteView& r) {
  const std::string weight = format_percent(r.canary_weight) + "%";
  const auto bp = static_cast<long>(std::lround(r.canary_weight * 100));
  if (r.reason == "header") return "the override header asks for " + r.set;
  if (r.reason == "cookie") return "the override cookie asks for " + r.set;
  if (r.reason == "aborted") return "the canary was rolled back; nothing reaches it until a weight is set again";
  if (r.reason == "fallback") {
    return r.set.empty() ? "no set has a healthy endpoint; the request gets 503"
                         : "the set first chosen has no healthy endpoint";
  }
  if (r.reason == "affinity" && r.bucket) {
    return "bucket " + std::to_string(*r.bucket) + (r.set == "canary" ? " < " : " >= ") + std::to_string(bp) +
           ", the weight " + weight + " in basis points";
  }
  if (r.reason == "affinity") {
    return "a new client: it gets a random affinity cookie, canary with probability " + weight;
  }
  if (r.reason == "weight") {
    return "no override or affinity key; drawn at the weight: canary with probability " +
           format_percent(r.canary_probability * 100) + "%";
  }
  return r.reason;
}

}  // namespace

Result<RouteView> parse_route(std::string_view text) {
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) return fail("the explain answer is not a JSON object");
  const json::object& o = doc.get_object();
  RouteView r;
  const json::value* set = o.if_contains("set");
  if (set == nullptr || !(set->is_string() || set->is_null())) return fail("explain.set is missing");
  if (set->is_string()) r.set = printable(std::string_view(set->get_string()));
  const json::value* reason = o.if_contains("reason");
  if (reason == nullptr || !reason->is_string()) return fail("explain.reason is missing");
  r.reason = printable(std::string_view(reason->get_string()));
  if (const json::value* b = o.if_contains("bucket"); b != nullptr && b->is_number()) {
    r.bucket = static_cast<std::uint32_t>(b->to_number<double>());
  }
  r.canary_weight = number(o, "canary_weight").value_or(0);
  r.canary_probability = number(o, "canary_probability").value_or(0);
  if (const json::value* n = o.if_contains("new_cookie"); n != nullptr && n->is_bool()) r.new_cookie = n->get_bool();
  return r;
}

std::string render_route(const RouteView& route) {
  return (route.set.empty() ? std::string("none") : route.set) + " (" + route.reason + ": " + why(route) + ")\n";
}

}  // namespace canaryd::ctl
