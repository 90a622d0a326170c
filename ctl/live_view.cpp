// The frame of `canaryctl status --watch` (see live_view.hpp).
#include "ctl/live_view.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ctl/render.hpp"
#include "ctl/table.hpp"
#include "weights/routing_state.hpp"

namespace canaryd::ctl {
namespace {

/// The window behind served_requests (the server's served share covers the last minute).
constexpr double kServedWindowSeconds = 60.0;

std::string share_cell(std::optional<double> percent) {
  return share_bar(percent) + " " + (percent ? format_percent(*percent) + "%" : std::string("-"));
}

std::string rate_text(std::optional<double> per_second) {
  if (!per_second) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", *per_second);
  return buf;
}

std::string healthy_text(const SetView& set) {
  const auto healthy = std::count_if(set.endpoints.begin(), set.endpoints.end(), [](const auto& e) { return e.healthy; });
  return std::to_string(healthy) + "/" + std::to_string(set.endpoints.size());
}

TableRow set_row(std::string name, const SetView& set, double configured, const SetFigures* figures) {
  return {std::move(name),
          set.selector,
          share_cell(configured),
          set.has_served ? share_cell(set.served) : std::string("-"),
          rate_text(requests_per_second(set)),
          figures ? error_rate_text(figures->error_rate) : std::string("-"),
          figures ? p99_text(figures->p99_ms) : std::string("-"),
          healthy_text(set)};
}

}  // namespace

std::string share_bar(std::optional<double> percent) {
  if (!percent) return "[" + std::string(kShareBarWidth, '.') + "]";
  const double p = std::clamp(*percent, 0.0, 100.0);
  const int filled = static_cast<int>(std::lround(p * kShareBarWidth / 100.0));
  return "[" + std::string(filled, '#') + std::string(kShareBarWidth - filled, '.') + "]";
}

std::optional<double> requests_per_second(const SetView& set) {
  if (!set.has_served) return std::nullopt;
  return static_cast<double>(set.served_requests) / kServedWindowSeconds;
}

std::string rollout_line(const RolloutView& r, std::chrono::system_clock::time_point now) {
  std::string out = "ROLLOUT  " + r.phase;
  if (auto step = step_text(r); !step.empty()) out += "  " + step;
  if (r.canary_weight) out += "  weight " + format_percent(*r.canary_weight) + "%";
  if (auto pause = pause_text(r, now); !pause.empty()) out += "  " + pause;
  if (auto verdict = verdict_text(r); !verdict.empty()) out += "  verdict " + verdict;
  if (!r.reason.empty()) out += "  (" + r.reason + ")";
  return out + "\n";
}

std::string render_live_frame(const StatusView& status, const std::optional<RolloutView>& rollout,
                              std::string_view server, std::chrono::system_clock::time_point now) {
  std::string out = "canaryd " + std::string(server) + "  revision " + std::to_string(status.revision) + "  " +
                    weights::format_time(now) +
                    "\n";
  const bool analysed = rollout && rollout->analysis && rollout->phase != "none";
  const double canary = status.canary ? status.canary_weight : 0.0;
  std::vector<TableRow> rows{{"SET", "SELECTOR", "CONFIGURED", "SERVED (1m)", "REQ/S", "ERRORS", "P99", "HEALTHY"}};
  rows.push_back(set_row("stable", status.stable, 100.0 - canary, analysed ? &rollout->analysis->stable : nullptr));
  if (status.canary) {
    rows.push_back(set_row("canary", *status.canary, canary, analysed ? &rollout->analysis->canary : nullptr));
  } else {
    rows.push_back({"canary", "<none>"});
  }
  out += render_table(rows);
  if (rollout && rollout->phase != "none") out += rollout_line(*rollout, now);
  for (const auto& w : served_warnings(status)) out += w + "\n";
  if (status.aborted) out += "ABORTED: the canary serves nothing until a weight is set again\n";
  return out;
}

}  // namespace canaryd::ctl
