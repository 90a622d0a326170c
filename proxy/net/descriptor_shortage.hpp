// Running out of file descriptors or socket memory: told apart from an endpoint's failure, and logged
// at a bounded rate.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include <boost/system/error_code.hpp>

namespace canaryd::proxy {

/// EMFILE, ENFILE, ENOBUFS, ENOMEM: canaryd (or its host) is out of descriptors or socket memory. On
/// connect or accept this says nothing about the peer, so it never counts against an endpoint's health.
bool is_descriptor_shortage(const boost::system::error_code& ec);

/// One place that can meet a shortage (accepting, connecting upstream, probing). note() logs that
/// canaryd ran out, at most once per second per place, with how many more it met meanwhile. Any
/// thread; no lock (a worker must not wait on another to say it is out of descriptors).
class ShortageReport {
 public:
  /// `doing`: what failed, for the log line ("opening an upstream connection").
  constexpr explicit ShortageReport(std::string_view doing) : doing_(doing) {}
  ShortageReport(const ShortageReport&) = delete;
  ShortageReport& operator=(const ShortageReport&) = delete;

  /// `detail` is added to the line when this call is the one logged (an endpoint's address).
  void note(const boost::system::error_code& ec, std::string_view detail = {});

 private:
  std::string_view doing_;
  std::atomic<std::int64_t> next_line_ms_{0};  ///< steady clock
  std::atomic<std::uint64_t> unlogged_{0};
};

}  // namespace canaryd::proxy
