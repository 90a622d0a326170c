// PLACEHOLDER (replaced by the r11-plan branch).
#include "weights/rollout_plan_json.hpp"

namespace canaryd::weights {

Result<config::RolloutPlan> plan_from_json(const boost::json::object&, const NumberTexts&) {
  return fail("plan bodies are not supported yet");
}

}  // namespace canaryd::weights
