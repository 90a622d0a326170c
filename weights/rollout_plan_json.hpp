// PLACEHOLDER (replaced by the r11-plan branch): the POST /api/rollout body to a plan.
#pragma once

#include <boost/json.hpp>

#include "config/result.hpp"
#include "config/rollout_plan.hpp"
#include "weights/json_text.hpp"

namespace canaryd::weights {

Result<config::RolloutPlan> plan_from_json(const boost::json::object& body, const NumberTexts& numbers);

}  // namespace canaryd::weights
