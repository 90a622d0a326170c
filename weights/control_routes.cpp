// The control port's route table, looked up.
#include "weights/control_routes.hpp"

namespace canaryd::weights {

const ControlRoute* find_path(std::string_view path) {
  for (const auto& r : kControlRoutes)
    if (r.path == path) return &r;
  return nullptr;
}

const ControlRoute* find_route(std::string_view path, std::string_view method) {
  for (const auto& r : kControlRoutes)
    if (r.path == path && r.method == method) return &r;
  return nullptr;
}

std::string allowed_methods(std::string_view path) {
  std::string out;
  for (const auto& r : kControlRoutes) {
    if (r.path != path) continue;
    if (!out.empty()) out += ", ";
    out += r.method;
  }
  return out;
}

}  // namespace canaryd::weights
