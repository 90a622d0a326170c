// The smallest valid config text, for unit tests that append the keys they test to it.
#pragma once

#include <string>

#include "config/config.hpp"

namespace canaryd::config::test_support {

inline constexpr const char* kMinimalConfig = R"(
listen:
  - address: 127.0.0.1:0
service:
  stable: {version: v1}
)";

/// The minimal config with `extra` (YAML text) appended, loaded as "t.yaml".
inline LoadResult load_minimal_with(const std::string& extra) {
  return load_config_text(std::string(kMinimalConfig) + extra, "t.yaml");
}

}  // namespace canaryd::config::test_support
