// canaryd's own file descriptor limit (RLIMIT_NOFILE), raised at start as far as the system lets it.
#pragma once

#include <cstdint>
#include <string>

namespace canaryd::proxy {

/// The soft limit before and after raise_descriptor_limit(); an unlimited one is UINT64_MAX.
struct DescriptorLimit {
  std::uint64_t before = 0;
  std::uint64_t now = 0;
  std::string error;  ///< why it could not be raised (it stays at `before`)
};

/// Raised to at most this, like HAProxy's fd-hard-limit: a default max_connections of millions would
/// promise connections that memory cannot hold.
inline constexpr std::uint64_t kDescriptorCeiling = 1 << 20;

/// Raises the soft RLIMIT_NOFILE to the hard limit (at most kDescriptorCeiling; never lowers it). Only
/// the soft limit is raised: it is a process's own choice, the hard limit the administrator's.
DescriptorLimit raise_descriptor_limit();

}  // namespace canaryd::proxy
