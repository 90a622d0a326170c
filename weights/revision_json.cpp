// One revision to and from its JSON object (see revision_json.hpp).
#include "weights/revision_json.hpp"

#include <charconv>
#include <cstdio>
#include <set>

#include "weights/json_text.hpp"

namespace canaryd::weights {

namespace json = boost::json;

namespace {

std::string salt_text(std::uint64_t salt) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(salt));
  return text;
}

/// 1 to 16 hex digits, as salt_text writes them.
std::optional<std::uint64_t> parse_salt(const json::value& v) {
  const json::string* text = v.if_string();
  if (text == nullptr || text->empty() || text->size() > 16) return std::nullopt;
  std::uint64_t salt = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), salt, 16);
  if (ec != std::errc{} || end != text->data() + text->size()) return std::nullopt;
  return salt;
}

}  // namespace

json::object revision_to_json(const RoutingState& r) {
  json::object o;
  o["revision"] = r.revision;
  o["time"] = format_time(r.time);
  // Canonical selector strings: readable in the file and parsed back by the same code as the config.
  o["stable"] = r.stable.to_string();
  if (r.canary) {
    o["canary"] = r.canary->to_string();
  } else {
    o["canary"] = nullptr;
  }
  // Basis points, an integer: a percent as a double would not survive every round trip exactly.
  o["canary_weight_bp"] = r.canary_weight;
  o["cause"] = r.cause;
  // Only when set: files written before the flag existed, and every state that is not aborted, read
  // the same.
  if (r.aborted) o["aborted"] = true;
  // As 16 hex digits in a string: a JSON number above 2^53 does not survive every JSON tool (jq,
  // JavaScript) exactly. Only when set, so files of states without one read as before.
  if (r.affinity_salt != 0) o["affinity_salt"] = salt_text(r.affinity_salt);
  // The rollout this revision belongs to (or the last one that ran); absent before the first rollout,
  // so older files read the same.
  if (r.rollout) o["rollout"] = rollout_to_json(*r.rollout);
  return o;
}

std::size_t revision_json_size(const RoutingState& r) { return to_json_text(revision_to_json(r)).size(); }

std::optional<std::uint64_t> json_unsigned(const boost::json::value& v) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  return std::nullopt;
}

Result<RoutingState> revision_from_json(const json::value& v, const std::string& where) {
  const json::object* obj = v.if_object();
  if (obj == nullptr) return fail(where + ": must be an object");
  static const std::set<std::string, std::less<>> kKeys = {"revision", "time",           "stable",
                                                          "canary",   "canary_weight_bp", "cause",
                                                          "aborted",  "rollout",          "affinity_salt"};
  for (const auto& kv : *obj) {
    if (!kKeys.contains(std::string_view(kv.key()))) {
      return fail(where + ": unknown field \"" + std::string(kv.key()) + "\"");
    }
  }
  for (const auto& key : kKeys) {
    const bool optional = key == "aborted" || key == "rollout" || key == "affinity_salt";
    if (!optional && !obj->contains(key)) return fail(where + ": missing field \"" + key + "\"");
  }

  RoutingState state;
  const auto revision = json_unsigned(obj->at("revision"));
  if (!revision || *revision == 0) return fail(where + ".revision: must be a positive integer");
  state.revision = *revision;

  const json::string* time = obj->at("time").if_string();
  const auto parsed_time = time ? parse_time(std::string(*time)) : std::nullopt;
  if (!parsed_time) return fail(where + ".time: must be an RFC 3339 UTC time like 2026-11-27T15:00:00Z");
  state.time = *parsed_time;

  const json::string* stable = obj->at("stable").if_string();
  if (stable == nullptr) return fail(where + ".stable: must be a selector string");
  auto stable_sel = config::Selector::parse(std::string_view(*stable));
  if (!stable_sel) return fail(where + ".stable: " + stable_sel.error().message);
  state.stable = std::move(*stable_sel);

  const json::value& canary = obj->at("canary");
  if (!canary.is_null()) {
    const json::string* canary_text = canary.if_string();
    if (canary_text == nullptr) return fail(where + ".canary: must be a selector string or null");
    auto canary_sel = config::Selector::parse(std::string_view(*canary_text));
    if (!canary_sel) return fail(where + ".canary: " + canary_sel.error().message);
    state.canary = std::move(*canary_sel);
  }

  const auto weight = json_unsigned(obj->at("canary_weight_bp"));
  if (!weight || *weight > config::kMaxBasisPoints) {
    return fail(where + ".canary_weight_bp: must be an integer from 0 to " + std::to_string(config::kMaxBasisPoints));
  }
  if (!state.canary && *weight != 0) return fail(where + ".canary_weight_bp: must be 0 when canary is null");
  state.canary_weight = static_cast<config::BasisPoints>(*weight);

  const json::string* cause = obj->at("cause").if_string();
  if (cause == nullptr) return fail(where + ".cause: must be a string");
  state.cause = std::string(*cause);

  if (const json::value* aborted = obj->if_contains("aborted")) {
    if (!aborted->is_bool()) return fail(where + ".aborted: must be true or false");
    state.aborted = aborted->get_bool();
    if (state.aborted && !state.canary) return fail(where + ".aborted: must be false when canary is null");
  }

  if (const json::value* salt = obj->if_contains("affinity_salt")) {
    const auto parsed = parse_salt(*salt);
    if (!parsed) return fail(where + ".affinity_salt: must be a string of 1 to 16 hex digits");
    state.affinity_salt = *parsed;
  }

  if (const json::value* rollout = obj->if_contains("rollout")) {
    auto record = rollout_from_json(*rollout, where + ".rollout");
    if (!record) return fail(std::move(record).error());
    state.rollout = std::move(*record);
  }
  return state;
}

}  // namespace canaryd::weights
