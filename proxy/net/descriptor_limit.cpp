// Raising RLIMIT_NOFILE at start (see descriptor_limit.hpp).
#include "proxy/net/descriptor_limit.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace canaryd::proxy {

namespace {
std::uint64_t as_count(rlim_t v) { return v == RLIM_INFINITY ? std::numeric_limits<std::uint64_t>::max() : v; }
}  // namespace

DescriptorLimit raise_descriptor_limit() {
  DescriptorLimit out;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    out.error = std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno);
    return out;
  }
  out.before = out.now = as_count(lim.rlim_cur);
  const std::uint64_t target = std::min(as_count(lim.rlim_max), kDescriptorCeiling);
  if (out.before >= target) return out;
  lim.rlim_cur = static_cast<rlim_t>(target);
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    out.error = std::string("setrlimit(RLIMIT_NOFILE): ") + std::strerror(errno);
    return out;
  }
  out.now = target;
  return out;
}

}  // namespace canaryd::proxy
