// One frame of `canaryctl status --watch`: per set the configured and served share as bars, req/s,
// error rate, p99, healthy endpoints, and the rollout's step and verdict. A pure function of the two
// documents and the time, so the frame is unit-tested.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "ctl/api_views.hpp"
#include "ctl/rollout_view.hpp"

namespace canaryd::ctl {

/// Width of a share bar between its brackets.
inline constexpr int kShareBarWidth = 20;

/// "[####................]": `percent` (clamped to 0-100) of kShareBarWidth cells, rounded; all dots
/// when there is nothing to show (nullopt).
std::string share_bar(std::optional<double> percent);

/// Requests per second over the served window: served_requests counts the last minute's requests.
std::optional<double> requests_per_second(const SetView& set);

/// The frame: a header (server, revision, time), a row per set, the rollout's line (when `rollout` is
/// given and not "none"), then the served-share warnings and the abort. Error rate and p99 come from
/// the rollout's analysis (the data plane's own window); "-" without one.
std::string render_live_frame(const StatusView& status, const std::optional<RolloutView>& rollout,
                              std::string_view server, std::chrono::system_clock::time_point now);

/// The rollout's line of the frame: "ROLLOUT  progressing  step 2/4  weight 25%  until ... (1m left)
/// verdict pass  reason".
std::string rollout_line(const RolloutView& rollout, std::chrono::system_clock::time_point now);

}  // namespace canaryd::ctl
