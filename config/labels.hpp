// Endpoint labels (a key -> value map) and the validation of their keys and values, as Kubernetes
// defines them.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "config/result.hpp"

namespace canaryd::config {

/// Pod-style labels of one endpoint; ordered so that printing is canonical.
using Labels = std::map<std::string, std::string>;

/// Checks a label key like Kubernetes: an optional DNS-subdomain prefix and '/', then a name of at most
/// 63 characters of [A-Za-z0-9._-] that starts and ends with a letter or digit. On failure the error
/// says why. Pure; any thread.
Result<void> validate_label_key(std::string_view key);

/// Checks a label value like Kubernetes: empty, or at most 63 characters of [A-Za-z0-9._-] that start
/// and end with a letter or digit. On failure the error says why. Pure; any thread.
Result<void> validate_label_value(std::string_view value);

}  // namespace canaryd::config
