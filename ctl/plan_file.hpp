// `canaryctl rollout start -f plan.yaml`: the plan file read and turned into the JSON body of
// POST /api/rollout. The conversion is generic (any map, list and scalar); validating the plan is the
// server's job, so its message names the wrong field.
#pragma once

#include <string>
#include <string_view>

#include "config/result.hpp"

namespace canaryd::ctl {

/// A YAML document as compact JSON text. Plain scalars that read as JSON numbers stay numbers with the
/// digits as written (33.33 stays 33.33, never 3.333E1), `true`/`false` (any YAML 1.2 case) are
/// booleans, `null`/`~`/empty are null; everything else, and every quoted or `!!str` scalar, is a
/// string ("manual", "2m", "5" in quotes). A map under a top-level `rollout:` key is taken as the plan,
/// so the rollout section of a whole canaryd config works too. The error names the field, e.g.
/// "steps[1]: duplicate key \"weight\"", or says why the text is not YAML.
Result<std::string> plan_json_from_yaml(std::string_view yaml);

/// Reads the plan file ("-": standard input) and converts it; the error starts with the file name.
Result<std::string> read_plan_file(const std::string& path);

}  // namespace canaryd::ctl
