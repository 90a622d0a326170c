// Telling a descriptor shortage from an endpoint's failure, and saying so in the log (see the header).
#include "proxy/net/descriptor_shortage.hpp"

#include <cerrno>
#include <chrono>
#include <string>

#include "proxy/net/log.hpp"

namespace canaryd::proxy {

namespace {

constexpr std::int64_t kLineEveryMs = 1000;

bool out_of_descriptors(int e) { return e == EMFILE || e == ENFILE; }

}  // namespace

bool is_descriptor_shortage(const boost::system::error_code& ec) {
  if (ec.category() != boost::system::system_category() && ec.category() != boost::system::generic_category())
    return false;
  const int e = ec.value();
  return out_of_descriptors(e) || e == ENOBUFS || e == ENOMEM;
}

void ShortageReport::note(const boost::system::error_code& ec, std::string_view detail) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  std::int64_t due = next_line_ms_.load(std::memory_order_relaxed);
  // One thread wins the exchange and logs; the others only count.
  if (now < due || !next_line_ms_.compare_exchange_strong(due, now + kLineEveryMs, std::memory_order_relaxed)) {
    unlogged_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::uint64_t more = unlogged_.exchange(0, std::memory_order_relaxed);
  std::string line = out_of_descriptors(ec.value()) ? "canaryd ran out of file descriptors ("
                                                    : "canaryd ran out of socket memory (";
  line += ec.message();
  line += ") ";
  line += doing_;
  line += detail;
  if (more > 0) line += "; " + std::to_string(more) + " more since the last line";
  line += out_of_descriptors(ec.value()) ? "; see limits.max_connections and RLIMIT_NOFILE" : "";
  log_line(line);
}

}  // namespace canaryd::proxy
