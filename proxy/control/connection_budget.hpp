// How many client connections canaryd can hold with the file descriptors it may open: the default of
// limits.max_connections, and the bound on idle pooled upstream connections that keeps it true.
#pragma once

#include <cstddef>
#include <cstdint>

namespace canaryd::proxy {

/// What takes descriptors besides client connections and their upstream connections.
struct DescriptorUsers {
  std::uint64_t descriptor_limit = 0;  ///< RLIMIT_NOFILE (soft), after canaryd raised it
  std::size_t workers = 1;
  std::size_t listeners = 1;            ///< listen addresses; every worker holds a socket for each
  std::size_t endpoints = 0;            ///< each may have one health probe connection open
  std::size_t control_connections = 0;  ///< the control port's connection cap
};

/// Like HAProxy's maxconn derived from ulimit-n: the descriptors left after a reserve, shared by
/// client connections (each of which may hold one upstream connection) and the idle pool.
struct ConnectionBudget {
  /// Descriptors kept for everything but client connections and upstream connections.
  std::uint64_t reserved = 0;
  /// Idle keep-alive upstream connections, all workers together (an eighth of what is left).
  std::uint64_t idle_upstream = 0;
  /// Each worker's share of idle_upstream (its pool's bound).
  std::uint64_t idle_upstream_per_worker = 0;
  /// Client connections at once: the rest, halved (at least 1).
  std::uint64_t max_connections = 0;
};

/// Descriptors every process needs whatever it serves: stdio, the main loop (epoll, eventfd,
/// timerfd), the signal pipe, the state file and its temporary, files read at a reload (config,
/// token, certificates), the Kubernetes client's watches and writes, a DNS lookup, and spare.
inline constexpr std::uint64_t kProcessReserve = 32;
/// Per worker besides its listening sockets: its loop's epoll, eventfd and timerfd.
inline constexpr std::uint64_t kWorkerReserve = 3;

ConnectionBudget connection_budget(const DescriptorUsers& users);

}  // namespace canaryd::proxy
