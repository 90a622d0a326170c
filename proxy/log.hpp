#pragma once

#include <string_view>

namespace canaryd::proxy {

/// One line on stderr with a UTC timestamp. Control plane and start-up only; the request path never logs.
void log_line(std::string_view message);

}  // namespace canaryd::proxy
