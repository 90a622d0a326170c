// The rollout record's names (see rollout_record.hpp).
#include "weights/rollout_record.hpp"

namespace canaryd::weights {

const char* phase_name(RolloutPhase phase) {
  switch (phase) {
    case RolloutPhase::Progressing: return "progressing";
    case RolloutPhase::Paused: return "paused";
    case RolloutPhase::Completed: return "completed";
    case RolloutPhase::Aborted: return "aborted";
  }
  return "progressing";
}

std::optional<RolloutPhase> parse_phase(std::string_view text) {
  for (auto phase : {RolloutPhase::Progressing, RolloutPhase::Paused, RolloutPhase::Completed, RolloutPhase::Aborted}) {
    if (text == phase_name(phase)) return phase;
  }
  return std::nullopt;
}

}  // namespace canaryd::weights
