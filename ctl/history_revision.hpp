// `canaryctl history --revision N`: one revision of GET /api/history in full, with what changed from the
// revision before it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ctl/api_views.hpp"

namespace canaryd::ctl {

/// Revision `n` as "field: value" lines (revision, time, weight, stable, canary, cause, changes), or
/// nullopt when the history does not hold it.
std::optional<std::string> render_revision(const std::vector<RevisionView>& revisions, std::uint64_t n);

/// What changed from `before` to `after`, e.g. "canary weight 10% -> 20%"; "nothing" when nothing did.
std::string revision_changes(const RevisionView& before, const RevisionView& after);

/// The server's own JSON object of revision `n` in a history document, or nullopt.
std::optional<std::string> revision_json(std::string_view history_json, std::uint64_t n);

/// Why `n` cannot be shown: not kept, and which revisions are.
std::string missing_revision_message(const std::vector<RevisionView>& revisions, std::uint64_t n);

}  // namespace canaryd::ctl
