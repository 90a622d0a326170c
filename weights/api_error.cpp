// The control API's error document and its status -> kind mapping (see api_error.hpp).
#include "weights/api_error.hpp"

#include <boost/json.hpp>

#include "weights/json_text.hpp"

namespace canaryd::weights {

std::string_view error_kind(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413:
    case 414:
    case 431: return "too_large";
    default: return status >= 400 && status < 500 ? "bad_request" : "internal";
  }
}

int http_status(TransitionError::Kind kind) {
  switch (kind) {
    case TransitionError::Kind::InvalidArgument: return 400;
    case TransitionError::Kind::NotFound: return 404;
    case TransitionError::Kind::Conflict: return 409;
    case TransitionError::Kind::StorageFailed: return 500;
    case TransitionError::Kind::Contended: return 503;
  }
  return 500;
}

std::string error_json(int status, std::string_view message) {
  boost::json::object o;
  o["error"] = message;
  o["kind"] = error_kind(status);
  return to_json_text(o);
}

}  // namespace canaryd::weights
