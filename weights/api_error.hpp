// The control API's error document, {"error": "...", "kind": "..."}: one mapping from an HTTP status to
// the stable machine-readable kind of contract section 7 ("Scripts"), for every place that answers one.
#pragma once

#include <string>
#include <string_view>

#include "weights/transitions.hpp"

namespace canaryd::weights {

/// bad_request, unauthorized, not_found, method_not_allowed, conflict, too_large or internal. Statuses
/// without a kind of their own map to the nearest: other 4xx to bad_request (431 to too_large), 5xx to
/// internal. Any thread.
std::string_view error_kind(int status);

/// The status that answers a change refused or failed for `kind`: InvalidArgument 400, NotFound 404,
/// Conflict 409, StorageFailed 500, Contended 503. The one place a transition's outcome becomes HTTP.
int http_status(TransitionError::Kind kind);

/// {"error": message, "kind": error_kind(status)} as JSON text; the message is escaped. Any thread.
std::string error_json(int status, std::string_view message);

}  // namespace canaryd::weights
