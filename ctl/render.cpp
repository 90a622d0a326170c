// The readable outputs of canaryctl (see render.hpp), with weights computed in basis points.
#include "ctl/render.hpp"

#include <algorithm>
#include <cmath>

#include "ctl/table.hpp"

namespace canaryd::ctl {
namespace {

constexpr std::string_view kNone = "<none>";

/// Weights are computed in basis points so that 100 - 33.33 prints 66.67, not 66.670000000000002.
long long basis_points(double percent) { return std::llround(percent * 100.0); }

std::string format_basis_points(long long bp) {
  std::string out = bp < 0 ? "-" : "";
  const long long a = bp < 0 ? -bp : bp;
  out += std::to_string(a / 100);
  const long long frac = a % 100;
  if (frac != 0) {
    out += '.';
    out += static_cast<char>('0' + frac / 10);
    if (frac % 10 != 0) out += static_cast<char>('0' + frac % 10);
  }
  return out;
}

std::string endpoints_text(const SetView& set) {
  if (set.endpoints.empty()) return std::string(kNone);
  std::string out;
  for (const auto& e : set.endpoints) {
    if (!out.empty()) out += ", ";
    // A discovered pod is shown by name, as kubectl shows pods: "nginx-v1-7d4f8 10.244.1.5:80 (healthy)".
    if (!e.pod.empty()) out += e.pod + " ";
    out += e.address;
    out += e.healthy ? " (healthy)" : " (unhealthy)";
  }
  return out;
}

std::string canary_text(const StatusView& status) {
  return status.canary ? status.canary->selector : std::string(kNone);
}

std::string revision_text(const StatusView& status) { return "(revision " + std::to_string(status.revision) + ")"; }

/// The SERVED cell: the last minute's share, "-" before any request.
std::string served_text(const SetView& set) {
  return set.served ? format_basis_points(std::llround(*set.served * 100.0)) + "%" : std::string("-");
}

/// Why a set may serve other than its weight, as far as status tells.
std::string served_hint(const SetView& set) {
  if (set.endpoints.empty()) return " (it has no endpoint)";
  for (const auto& e : set.endpoints) {
    if (e.healthy) return " (overrides, affinity, fallbacks or a weight change in the last minute)";
  }
  return " (it has no healthy endpoint)";
}

void add_served_warning(std::vector<std::string>& out, std::string_view name, const SetView& set,
                        double configured, std::uint64_t requests) {
  if (!set.served || requests < kServedWarningMinRequests) return;
  const double off = *set.served - configured;
  if (std::fabs(off) <= std::max(2.0, 0.2 * configured)) return;
  out.push_back("warning: " + std::string(name) + " served " + served_text(set) + " of the last minute's " +
                std::to_string(requests) + " requests but is configured at " +
                format_basis_points(std::llround(configured * 100.0)) + "%" + served_hint(set));
}

}  // namespace

std::string format_percent(double percent) { return format_basis_points(basis_points(percent)); }

std::vector<std::string> served_warnings(const StatusView& status) {
  std::vector<std::string> out;
  if (!status.stable.has_served) return out;
  const double canary = status.canary ? status.canary_weight : 0.0;
  std::uint64_t requests = status.stable.served_requests + (status.canary ? status.canary->served_requests : 0);
  add_served_warning(out, "stable", status.stable, 100.0 - canary, requests);
  if (status.canary) add_served_warning(out, "canary", *status.canary, canary, requests);
  return out;
}

std::string render_status(const StatusView& status) {
  const long long canary_bp = status.canary ? basis_points(status.canary_weight) : 0;
  // The revision is padded to a fixed width so UPDATED stays in place as revisions grow.
  std::string revision = std::to_string(status.revision);
  if (revision.size() < 8) revision.append(8 - revision.size(), ' ');
  std::string out = "REVISION  " + revision + "  UPDATED  " + (status.updated_at.empty() ? "-" : status.updated_at) + "\n";
  out += "CANARY WEIGHT  " + format_basis_points(canary_bp) + "%";
  // Abort means zero: said where the weight is, since overrides no longer reach the canary either.
  if (status.aborted) out += "  ABORTED (the canary serves nothing until a weight is set)";
  out += "\n\n";

  // SERVED (the last minute's share) beside SHARE (the configured one) when the server sends it.
  const bool served = status.stable.has_served;
  auto row = [served](std::string set, const SetView& view, long long bp) {
    TableRow r{std::move(set), view.selector, format_basis_points(bp) + "%"};
    if (served) r.push_back(served_text(view));
    r.push_back(endpoints_text(view));
    return r;
  };
  std::vector<TableRow> rows{served ? TableRow{"SET", "SELECTOR", "SHARE", "SERVED", "ENDPOINTS"}
                                    : TableRow{"SET", "SELECTOR", "SHARE", "ENDPOINTS"}};
  rows.push_back(row("stable", status.stable, 10000 - canary_bp));
  if (status.canary) {
    rows.push_back(row("canary", *status.canary, canary_bp));
  } else {
    rows.push_back({"canary", std::string(kNone)});
  }
  out += render_table(rows);
  for (const auto& w : served_warnings(status)) out += w + "\n";
  return out;
}

std::string render_history(const std::vector<RevisionView>& revisions) {
  std::vector<TableRow> rows{{"REVISION", "WEIGHT", "STABLE", "CANARY", "CHANGE-CAUSE"}};
  for (const auto& r : revisions) {
    rows.push_back({std::to_string(r.revision), format_percent(r.canary_weight) + "%", r.stable,
                    r.canary ? *r.canary : std::string(kNone), r.cause.empty() ? std::string(kNone) : r.cause});
  }
  return render_table(rows);
}

std::string render_confirmation(Command command, const StatusView& status) {
  const std::string weight = format_percent(status.canary_weight) + "%";
  if (status.unchanged) {
    // Nothing was recorded: say so first, then the state that already held.
    const std::string canary = status.canary ? canary_text(status) + " at " + weight : "none";
    return "unchanged: stable " + status.stable.selector + ", canary " + canary + " " + revision_text(status) + "\n";
  }
  switch (command) {
    case Command::Weight:
      return "canary weight set to " + weight + " " + revision_text(status) + "\n";
    case Command::Promote:
      return "promoted: stable is now " + status.stable.selector + " " + revision_text(status) + "\n";
    case Command::Rollback:
      return "rolled back: canary weight " + weight + " " + revision_text(status) + "\n";
    case Command::Undo:
      return "undone: now revision " + std::to_string(status.revision) + " (weight " + weight + ", stable " +
             status.stable.selector + ", canary " + canary_text(status) + ")\n";
    case Command::CanarySet:
      return "canary set to " + canary_text(status) + " at " + weight + " " + revision_text(status) + "\n";
    case Command::CanaryRemove:
      return "canary removed " + revision_text(status) + "\n";
    default:
      return render_status(status);
  }
}

}  // namespace canaryd::ctl
