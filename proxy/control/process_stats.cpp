// Reads and parses /proc for the process_* families (see process_stats.hpp).
#include "proxy/control/process_stats.hpp"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <iterator>
#include <string>

namespace canaryd::proxy {
namespace {

std::string_view next_field(std::string_view& rest) {
  const auto start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(start);
  const auto end = rest.find_first_of(" \n");
  std::string_view field = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return field;
}

std::optional<std::uint64_t> number(std::string_view text) {
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return n;
}

std::string slurp(const char* path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

double count_open_fds() {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return 0;
  double n = 0;
  while (const dirent* e = readdir(dir))
    if (e->d_name[0] != '.') ++n;
  closedir(dir);
  return n - 1;  // the directory stream's own descriptor
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  const auto paren = text.rfind(')');
  if (paren == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(paren + 1);
  // Field 3 (state) is the first after the name; utime is field 14, stime 15, starttime 22, vsize 23, rss 24.
  ProcStat s;
  for (int field = 3; field <= 24; ++field) {
    const std::string_view f = next_field(rest);
    if (f.empty()) return std::nullopt;
    std::uint64_t* out = field == 14   ? &s.utime_ticks
                         : field == 15 ? &s.stime_ticks
                         : field == 22 ? &s.start_ticks
                         : field == 23 ? &s.vsize_bytes
                         : field == 24 ? &s.rss_pages
                                       : nullptr;
    if (!out) continue;
    const auto n = number(f);
    if (!n) return std::nullopt;
    *out = *n;
  }
  return s;
}

std::optional<std::uint64_t> parse_boot_time(std::string_view text) {
  for (std::size_t pos = 0; pos < text.size();) {
    const auto eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (line.starts_with("btime ")) {
      line.remove_prefix(6);
      return number(next_field(line));
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_max_open_files(std::string_view text) {
  const auto at = text.find("Max open files");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = text.substr(at + std::string_view("Max open files").size());
  return number(next_field(rest));  // the soft limit comes first; "unlimited" is no number
}

ProcessStats to_process_stats(const ProcStat& stat, std::uint64_t boot_time, long ticks_per_second, long page_size) {
  const double ticks = ticks_per_second > 0 ? static_cast<double>(ticks_per_second) : 100.0;
  ProcessStats p;
  p.cpu_seconds = static_cast<double>(stat.utime_ticks + stat.stime_ticks) / ticks;
  p.resident_bytes = static_cast<double>(stat.rss_pages) * static_cast<double>(page_size);
  p.virtual_bytes = static_cast<double>(stat.vsize_bytes);
  p.start_time_seconds = static_cast<double>(boot_time) + static_cast<double>(stat.start_ticks) / ticks;
  return p;
}

ProcessStats read_process_stats() {
  ProcessStats p;
  const auto stat = parse_proc_stat(slurp("/proc/self/stat"));
  const auto boot = parse_boot_time(slurp("/proc/stat"));
  if (stat) p = to_process_stats(*stat, boot.value_or(0), sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE));
  p.open_fds = count_open_fds();
  if (const auto max = parse_max_open_files(slurp("/proc/self/limits"))) p.max_fds = static_cast<double>(*max);
  return p;
}

}  // namespace canaryd::proxy
