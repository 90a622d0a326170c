// The names of the routing reasons (see route_decision.hpp).
#include "weights/route_decision.hpp"

namespace canaryd::weights {

const char* reason_name(RouteReason reason) {
  switch (reason) {
    case RouteReason::Header: return "header";
    case RouteReason::Cookie: return "cookie";
    case RouteReason::Affinity: return "affinity";
    case RouteReason::Weight: return "weight";
    case RouteReason::Fallback: return "fallback";
    case RouteReason::Aborted: return "aborted";
  }
  return "weight";
}

}  // namespace canaryd::weights
