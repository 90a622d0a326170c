// The formula behind limits.max_connections' default (documented in docs/operations.md).
#include "proxy/control/connection_budget.hpp"

#include <algorithm>
#include <limits>

namespace canaryd::proxy {

namespace {

// Saturating: an unlimited RLIMIT_NOFILE arrives as the largest value and must not wrap.
std::uint64_t add(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b ? std::numeric_limits<std::uint64_t>::max() : a + b;
}

std::uint64_t mul(std::uint64_t a, std::uint64_t b) {
  return b != 0 && a > std::numeric_limits<std::uint64_t>::max() / b ? std::numeric_limits<std::uint64_t>::max()
                                                                      : a * b;
}

}  // namespace

ConnectionBudget connection_budget(const DescriptorUsers& users) {
  ConnectionBudget b;
  const std::uint64_t per_worker = add(kWorkerReserve, users.listeners);
  b.reserved = add(add(add(kProcessReserve, mul(users.workers, per_worker)), 1 + users.control_connections),
                   users.endpoints);
  const std::uint64_t rest = users.descriptor_limit > b.reserved ? users.descriptor_limit - b.reserved : 0;
  b.idle_upstream = rest / 8;
  b.idle_upstream_per_worker = b.idle_upstream / std::max<std::uint64_t>(1, users.workers);
  // Each client connection may hold one upstream connection while its request is in flight.
  b.max_connections = (rest - b.idle_upstream) / 2;
  if (b.max_connections == 0) b.max_connections = 1;  // a limit of 0 would mean none at all
  return b;
}

}  // namespace canaryd::proxy
