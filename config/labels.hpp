#pragma once

#include <map>
#include <string>

namespace canaryd::config {

/// Pod-style labels of one endpoint; ordered so that printing is canonical.
using Labels = std::map<std::string, std::string>;

}  // namespace canaryd::config
