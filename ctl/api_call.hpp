// From a parsed canaryctl command to its control API call: method, path and JSON body.
#pragma once

#include <string>

#include "ctl/options.hpp"

namespace canaryd::ctl {

/// The control API call for one invocation, before the base path and the token are added.
struct ApiCall {
  std::string method;
  std::string path;  ///< "/api/..."
  std::string body;  ///< JSON, or empty for no body
};

/// Maps a command to its call of contract section 4. Pure. Help and Version have no call (GET
/// /api/status is returned, never used).
ApiCall build_api_call(const Invocation& invocation);

}  // namespace canaryd::ctl
