// The log line: a UTC timestamp and the message, written to stderr at once.
#include "proxy/net/log.hpp"

#include <cstdio>
#include <string>

#include "weights/routing_state.hpp"

namespace canaryd::proxy {

void log_line(std::string_view message) {
  std::string line = weights::format_time(weights::Clock::now());
  line += " canaryd: ";
  line += message;
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace canaryd::proxy
