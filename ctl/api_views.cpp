// Reads the server's status and history documents into views (see api_views.hpp), reporting the first
// missing or malformed field instead of throwing; refusal messages.
#include "ctl/api_views.hpp"

#include <boost/json.hpp>

#include "ctl/terminal_text.hpp"

namespace canaryd::ctl {
namespace {

namespace json = boost::json;

/// Field access that reports the first problem instead of throwing.
class Reader {
 public:
  bool failed() const { return !error_.empty(); }
  /// The first problem found, as the parse's answer.
  Failure<Error> failure() const { return canaryd::fail(Error{error_}); }

  const json::object* object(const json::value& v, std::string_view what) {
    if (const auto* o = v.if_object()) return o;
    fail(std::string(what) + " is not an object");
    return nullptr;
  }

  const json::value* member(const json::object& o, std::string_view key, std::string_view where) {
    if (const auto* v = o.if_contains(key)) return v;
    fail(std::string(where) + " has no \"" + std::string(key) + "\"");
    return nullptr;
  }

  std::string string(const json::object& o, std::string_view key, std::string_view where, bool required = true) {
    const auto* v = required ? member(o, key, where) : o.if_contains(key);
    if (v == nullptr || v->is_null()) return {};
    if (const auto* s = v->if_string()) return printable(*s);
    fail(std::string(where) + "." + std::string(key) + " is not a string");
    return {};
  }

  std::uint64_t unsigned_number(const json::object& o, std::string_view key, std::string_view where) {
    const auto* v = member(o, key, where);
    if (v == nullptr) return 0;
    json::error_code ec;
    auto n = v->to_number<std::uint64_t>(ec);
    if (ec) fail(std::string(where) + "." + std::string(key) + " is not a revision number");
    return n;
  }

  double number(const json::object& o, std::string_view key, std::string_view where) {
    const auto* v = member(o, key, where);
    if (v == nullptr) return 0;
    json::error_code ec;
    auto n = v->to_number<double>(ec);
    if (ec) fail(std::string(where) + "." + std::string(key) + " is not a number");
    return n;
  }

  void fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }

 private:
  std::string error_;
};

Result<json::value> parse_json(std::string_view text) {
  json::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return fail("not JSON (" + ec.message() + ")");
  return v;
}

SetView read_set(Reader& r, const json::value& v, std::string_view where) {
  SetView set;
  const auto* o = r.object(v, where);
  if (o == nullptr) return set;
  set.selector = r.string(*o, "selector", where);
  if (const auto* eps = o->if_contains("endpoints")) {
    const auto* arr = eps->if_array();
    if (arr == nullptr) {
      r.fail(std::string(where) + ".endpoints is not an array");
      return set;
    }
    for (const auto& e : *arr) {
      const auto* eo = r.object(e, std::string(where) + ".endpoints[]");
      if (eo == nullptr) return set;
      EndpointView ep;
      ep.address = r.string(*eo, "address", std::string(where) + ".endpoints[]");
      if (const auto* h = eo->if_contains("healthy"); h != nullptr && h->is_bool()) ep.healthy = h->get_bool();
      if (const auto* p = eo->if_contains("pod"); p != nullptr && p->is_string()) ep.pod = printable(p->get_string());
      set.endpoints.push_back(std::move(ep));
    }
  }
  if (const auto* sv = o->if_contains("served")) {
    set.has_served = true;
    json::error_code ec;
    if (!sv->is_null()) {
      set.served = sv->to_number<double>(ec);
      if (ec) r.fail(std::string(where) + ".served is not a number");
    }
  }
  if (const auto* n = o->if_contains("served_requests")) {
    json::error_code ec;
    set.served_requests = n->to_number<std::uint64_t>(ec);
    if (ec) r.fail(std::string(where) + ".served_requests is not a count");
  }
  return set;
}

}  // namespace

Result<StatusView> parse_status(std::string_view text) {
  auto doc = parse_json(text);
  if (!doc) return fail(std::move(doc).error());
  Reader r;
  const auto* o = r.object(*doc, "status");
  if (o == nullptr) return r.failure();

  StatusView s;
  s.revision = r.unsigned_number(*o, "revision", "status");
  s.canary_weight = r.number(*o, "canary_weight", "status");
  s.updated_at = r.string(*o, "updated_at", "status", false);
  if (const auto* st = r.member(*o, "stable", "status")) s.stable = read_set(r, *st, "stable");
  if (const auto* c = o->if_contains("canary"); c != nullptr && !c->is_null()) s.canary = read_set(r, *c, "canary");
  if (const auto* u = o->if_contains("unchanged"); u != nullptr && u->is_bool()) s.unchanged = u->get_bool();
  if (const auto* a = o->if_contains("aborted"); a != nullptr && a->is_bool()) s.aborted = a->get_bool();
  if (r.failed()) return r.failure();
  return s;
}

Result<std::vector<RevisionView>> parse_history(std::string_view text) {
  auto doc = parse_json(text);
  if (!doc) return fail(std::move(doc).error());
  Reader r;
  const auto* o = r.object(*doc, "history");
  if (o == nullptr) return r.failure();
  const auto* revs = r.member(*o, "revisions", "history");
  if (revs == nullptr) return r.failure();
  const auto* arr = revs->if_array();
  if (arr == nullptr) return fail("history.revisions is not an array");

  std::vector<RevisionView> out;
  for (const auto& v : *arr) {
    const auto* ro = r.object(v, "revision");
    if (ro == nullptr) return r.failure();
    RevisionView rev;
    rev.revision = r.unsigned_number(*ro, "revision", "revision");
    rev.time = r.string(*ro, "time", "revision", false);
    rev.canary_weight = r.number(*ro, "canary_weight", "revision");
    rev.stable = r.string(*ro, "stable", "revision");
    if (const auto* c = ro->if_contains("canary"); c != nullptr && !c->is_null()) {
      rev.canary = r.string(*ro, "canary", "revision");
    }
    rev.cause = r.string(*ro, "cause", "revision", false);
    if (r.failed()) return r.failure();
    out.push_back(std::move(rev));
  }
  return out;
}

bool is_json(std::string_view text) {
  json::error_code ec;
  json::parse(text, ec);
  return !ec;
}

std::string refusal_message(int status, std::string_view reason, std::string_view body) {
  json::error_code ec;
  auto v = json::parse(body, ec);
  if (!ec) {
    if (const auto* o = v.if_object()) {
      if (const auto* e = o->if_contains("error"); e != nullptr && e->is_string()) {
        return printable(e->get_string());
      }
    }
  }
  std::string out = "HTTP " + std::to_string(status);
  if (!reason.empty()) out += " " + printable(reason);
  // The first line only, bounded: enough to recognise what answered, without dumping a whole page.
  std::string_view first = body.substr(0, body.find_first_of("\r\n"));
  constexpr std::size_t kMaxShown = 200;
  if (!first.empty()) {
    out += ": ";
    out += printable(first.substr(0, kMaxShown));
    if (first.size() > kMaxShown) out += "...";
  }
  return out;
}

std::string unauthorized_hint(bool token_sent) {
  if (!token_sent) {
    return "hint: canaryd wants its control API token and none was sent: pass --token-file FILE (a file "
           "holding the token) or set CANARYD_TOKEN to the token itself";
  }
  return "hint: canaryd refused the token sent (from --token-file, else CANARYD_TOKEN): it must be the one in "
         "the file canaryd's control.token_file names";
}

}  // namespace canaryd::ctl
