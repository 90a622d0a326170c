// For the tests of /metrics: the sample lines of one family on a rendered page.
#pragma once

#include <string>
#include <vector>

namespace canaryd::proxy {

/// The lines of /metrics for one family name (its samples, without HELP and TYPE).
inline std::vector<std::string> samples(const std::string& page, const std::string& name) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < page.size()) {
    std::size_t end = page.find('\n', at);
    if (end == std::string::npos) end = page.size();
    const std::string line = page.substr(at, end - at);
    if (line.rfind(name + "{", 0) == 0 || line.rfind(name + " ", 0) == 0) out.push_back(line);
    at = end + 1;
  }
  return out;
}

}  // namespace canaryd::proxy
