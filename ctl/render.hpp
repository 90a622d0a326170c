// canaryctl's human-readable output: the status and history tables and the one-line confirmation of a
// change.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ctl/api_views.hpp"
#include "ctl/options.hpp"

namespace canaryd::ctl {

/// A percent with at most two decimals and no trailing zeros: 10.0 -> "10", 2.5 -> "2.5",
/// 33.33 -> "33.33" (weights are 0.01 % steps, so two decimals lose nothing).
std::string format_percent(double percent);

/// The readable `status`: revision and weight, then one row per set with its share and endpoints.
std::string render_status(const StatusView& status);

/// A set whose served share differs markedly from its configured one is worth a warning once the last
/// minute held this many requests.
inline constexpr std::uint64_t kServedWarningMinRequests = 100;

/// One "warning: ..." line per set that served markedly more or less than configured in the last
/// minute: |served - configured| > max(2 points, 20 % of configured), once the minute held at least
/// kServedWarningMinRequests requests. Empty when the server sent no served share.
std::vector<std::string> served_warnings(const StatusView& status);

/// The readable `history`, like `kubectl rollout history`: one row per revision, oldest first.
std::string render_history(const std::vector<RevisionView>& revisions);

/// The one-line confirmation of a change, from the status the server answered; "unchanged: ..." when the
/// change changed nothing.
std::string render_confirmation(Command command, const StatusView& status);

}  // namespace canaryd::ctl
