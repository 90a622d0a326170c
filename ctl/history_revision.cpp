// One revision in full (see history_revision.hpp).
#include "ctl/history_revision.hpp"

#include <algorithm>
#include <iterator>

#include <boost/json.hpp>

#include "ctl/render.hpp"

namespace canaryd::ctl {
namespace {

constexpr std::string_view kNone = "<none>";

std::string canary_of(const RevisionView& r) { return r.canary ? *r.canary : std::string(kNone); }

void field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ':';
  out.append(14 - std::min<std::size_t>(name.size(), 13), ' ');  // the values in one column
  out += value.empty() ? kNone : value;
  out += '\n';
}

}  // namespace

std::string revision_changes(const RevisionView& before, const RevisionView& after) {
  std::string out;
  const auto change = [&out](std::string_view what, const std::string& from, const std::string& to) {
    if (from == to) return;
    if (!out.empty()) out += "; ";
    out += std::string(what) + " " + from + " -> " + to;
  };
  change("canary weight", format_percent(before.canary_weight) + "%", format_percent(after.canary_weight) + "%");
  change("stable", before.stable, after.stable);
  change("canary", canary_of(before), canary_of(after));
  return out.empty() ? "nothing" : out;
}

std::optional<std::string> render_revision(const std::vector<RevisionView>& revisions, std::uint64_t n) {
  const auto it = std::find_if(revisions.begin(), revisions.end(),
                               [n](const RevisionView& r) { return r.revision == n; });
  if (it == revisions.end()) return std::nullopt;
  std::string out;
  field(out, "revision", std::to_string(it->revision));
  field(out, "time", it->time);
  field(out, "canary weight", format_percent(it->canary_weight) + "%");
  field(out, "stable", it->stable);
  field(out, "canary", canary_of(*it));
  field(out, "change-cause", it->cause);
  if (it == revisions.begin()) {
    field(out, "changes", "(the oldest revision kept: nothing before it to compare with)");
  } else {
    field(out, "changes", "since revision " + std::to_string(std::prev(it)->revision) + ": " +
                              revision_changes(*std::prev(it), *it));
  }
  return out;
}

std::optional<std::string> revision_json(std::string_view history_json, std::uint64_t n) {
  boost::json::error_code ec;
  const boost::json::value doc = boost::json::parse(history_json, ec);
  if (ec || !doc.is_object()) return std::nullopt;
  const boost::json::value* revs = doc.get_object().if_contains("revisions");
  if (revs == nullptr || !revs->is_array()) return std::nullopt;
  for (const auto& r : revs->get_array()) {
    const boost::json::object* o = r.if_object();
    const boost::json::value* number = o ? o->if_contains("revision") : nullptr;
    if (number == nullptr) continue;
    boost::json::error_code nec;
    if (number->to_number<std::uint64_t>(nec) == n && !nec) return boost::json::serialize(r);
  }
  return std::nullopt;
}

std::string missing_revision_message(const std::vector<RevisionView>& revisions, std::uint64_t n) {
  std::string out = "revision " + std::to_string(n) + " is not in the history";
  if (revisions.empty()) return out + " (it holds no revision)";
  return out + " (it keeps revisions " + std::to_string(revisions.front().revision) + " to " +
         std::to_string(revisions.back().revision) + "; history_limit bounds how many)";
}

}  // namespace canaryd::ctl
