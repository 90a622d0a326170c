// The start-up check of io_backend.hpp: one ring of the size Asio asks for, set up and torn down.
#include "proxy/net/io_backend.hpp"

#if defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#include <liburing.h>

#include <cstring>
#endif

namespace canaryd::proxy {

std::optional<std::string> io_backend_unavailable() {
#if defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
  // Asio's io_uring_service::ring_size in Boost 1.81: the check must ask for what the workers will.
  constexpr unsigned kRingEntries = 16384;
  io_uring ring;
  if (const int failed = ::io_uring_queue_init(kRingEntries, &ring, 0); failed < 0) {
    return "this canaryd was built with -DCANARYD_IO_URING=ON and the kernel refuses io_uring (" +
           std::string(std::strerror(-failed)) +
           "): a container's seccomp profile, the sysctl kernel.io_uring_disabled or a kernel older than 5.6 "
           "can; run the default (epoll) build of canaryd instead (docs/io_uring.md)";
  }
  ::io_uring_queue_exit(&ring);
#endif
  return std::nullopt;
}

}  // namespace canaryd::proxy
