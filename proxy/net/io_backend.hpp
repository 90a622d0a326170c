// Which event backend this build of Asio runs on (CANARYD_IO_URING, docs/io_uring.md), and whether the
// kernel lets it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/detail/config.hpp>

namespace canaryd::proxy {

#if defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
inline constexpr std::string_view kIoBackend = "io_uring";
#else
inline constexpr std::string_view kIoBackend = "epoll";
#endif

/// Why this process cannot run on its backend, or nothing when it can. Asio sets up an io_uring at the
/// first socket or timer of each io_context and throws from wherever that is when the kernel refuses
/// (a seccomp profile, kernel.io_uring_disabled, an old kernel), so main asks once before anything
/// starts. Under epoll it always can.
std::optional<std::string> io_backend_unavailable();

}  // namespace canaryd::proxy
