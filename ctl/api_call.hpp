// From a parsed canaryctl command to its control API call: method, path and JSON body.
#pragma once

#include <string>
#include <string_view>

#include "ctl/options.hpp"

namespace canaryd::ctl {

/// The control API call for one invocation, before the base path and the token are added.
struct ApiCall {
  std::string method;
  std::string path;  ///< "/api/..."
  std::string body;  ///< JSON, or empty for no body
};

/// Maps a command to its call of contract sections 4 and 7. Pure. Help and Version have no call (GET
/// /api/status is returned, never used). `plan_json`: for `rollout start -f`, the plan as a JSON object
/// (plan_file.hpp); empty for the server's configured plan. `wait` polls GET /api/rollout or /api/status.
ApiCall build_api_call(const Invocation& invocation, std::string_view plan_json = {});

}  // namespace canaryd::ctl
