// A rollout plan as JSON (contract section 7): the POST /api/rollout body, and the "plan" the state file
// keeps with a running rollout. The JSON form of the config's `rollout:` map: weights are numbers (judged
// by their text with the config's rule), durations strings ("2m"), a manual pause "manual".
#pragma once

#include <boost/json.hpp>

#include "config/result.hpp"
#include "config/rollout_plan.hpp"
#include "weights/json_text.hpp"

namespace canaryd::weights {

/// The plan in `body`: {"steps": [{"weight": 5, "pause": "2m"}, {"weight": 25, "pause": "manual"},
/// {"promote": true}], "analysis": {"interval": "10s", ...}} ("analysis" absent or null: none; its keys
/// left out keep their defaults). "cause" and "if_revision" at the top level are ignored here (the
/// caller reads them); any other unknown field is an error. `numbers` holds the text of the body's
/// numbers (parse_json, pointers from the body's root: "/steps/0/weight") so that a weight is judged as
/// written, as PUT /api/weight does; without it (JSON canaryd wrote itself) a weight's text is its
/// shortest form. The error names the field ("steps[1].pause: must be a duration like \"2m\", or
/// \"manual\""); then validate(plan) applies.
Result<config::RolloutPlan> plan_from_json(const boost::json::value& body, const NumberTexts* numbers = nullptr);

/// True when `body` has a field of a plan, i.e. anything but "cause" and "if_revision": POST
/// /api/rollout with none of them starts the config's plan.
bool has_plan_fields(const boost::json::object& body);

/// The plan in the shape plan_from_json reads: weights as percent numbers (weight_percent), pauses as
/// format_duration text or "manual", "promote": true only on the promote step, "analysis" only when the
/// plan has one, then with every key. plan_from_json(plan_to_json(p)) == p for every valid plan.
boost::json::object plan_to_json(const config::RolloutPlan& plan);

}  // namespace canaryd::weights
