// The process_* metric families as Prometheus client libraries export them: CPU time, memory, open and
// maximum descriptors, start time, read from /proc at scrape time. The parsers are pure, for the tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace canaryd::proxy {

/// One reading of the process, in the units of the metric families.
struct ProcessStats {
  double cpu_seconds = 0;           ///< process_cpu_seconds_total: user + system time
  double resident_bytes = 0;        ///< process_resident_memory_bytes
  double virtual_bytes = 0;         ///< process_virtual_memory_bytes
  double start_time_seconds = 0;    ///< process_start_time_seconds: since the Unix epoch
  double open_fds = 0;              ///< process_open_fds
  double max_fds = 0;               ///< process_max_fds: the soft RLIMIT_NOFILE
};

/// What /proc/self/stat says, in clock ticks and pages as the kernel gives them.
struct ProcStat {
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
  std::uint64_t start_ticks = 0;  ///< since boot
  std::uint64_t vsize_bytes = 0;
  std::uint64_t rss_pages = 0;
};

/// Parses /proc/self/stat (the command name may hold spaces and parentheses: fields are counted after the
/// last ')'). Nothing when the text is cut short.
std::optional<ProcStat> parse_proc_stat(std::string_view text);
/// The boot time (`btime`, seconds since the epoch) from /proc/stat.
std::optional<std::uint64_t> parse_boot_time(std::string_view text);
/// The soft "Max open files" limit from /proc/self/limits; nothing for "unlimited" or a missing line.
std::optional<std::uint64_t> parse_max_open_files(std::string_view text);
/// The families' values from the parsed files: `ticks_per_second` and `page_size` as sysconf gives them.
ProcessStats to_process_stats(const ProcStat& stat, std::uint64_t boot_time, long ticks_per_second, long page_size);

/// Reads /proc now. A file that cannot be read leaves its fields 0 (the families are still exported).
ProcessStats read_process_stats();

}  // namespace canaryd::proxy
