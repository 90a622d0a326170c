// canaryd's log: one timestamped line on stderr, for the control plane and start-up.
#pragma once

#include <string_view>

namespace canaryd::proxy {

/// One line on stderr with a UTC timestamp. Control plane and start-up only; the request path logs
/// only that canaryd ran out of descriptors, at most once a second (descriptor_shortage.hpp).
void log_line(std::string_view message);

}  // namespace canaryd::proxy
