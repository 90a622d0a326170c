// Unit tests of the process_* families' /proc parsers (a command name with spaces and parentheses, cut
// short files, unlimited descriptors), and of the state families canaryd renders beside them.
#include "proxy/control/process_stats.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/control/metrics_exporter.hpp"
#include "proxy/dataplane/worker.hpp"
#include "tests/proxy/metrics_page.hpp"

namespace canaryd::proxy {
namespace {

// A real line of /proc/self/stat, its name changed to one a parser splitting on spaces would get wrong.
constexpr const char* kStat =
    "4242 (can ary) d) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 3 0 123456 987654321 2048 "
    "18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 17 1 0 0 0 0 0\n";

TEST(ProcStat, FieldsAreCountedAfterTheLastParenthesis) {
  const auto s = parse_proc_stat(kStat);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->utime_ticks, 250u);
  EXPECT_EQ(s->stime_ticks, 75u);
  EXPECT_EQ(s->start_ticks, 123456u);
  EXPECT_EQ(s->vsize_bytes, 987654321u);
  EXPECT_EQ(s->rss_pages, 2048u);
}

TEST(ProcStat, ACutShortOrGarbledLineIsNothing) {
  EXPECT_FALSE(parse_proc_stat(""));
  EXPECT_FALSE(parse_proc_stat("4242 canaryd S 1"));
  EXPECT_FALSE(parse_proc_stat("4242 (canaryd) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250"));
  EXPECT_FALSE(parse_proc_stat("4242 (canaryd) S 1 4242 4242 0 -1 4194560 1234 0 0 0 x 75 0 0 20 0 3 0 1 2 3\n"));
}

TEST(ProcStat, UnitsAreSecondsAndBytes) {
  const auto s = parse_proc_stat(kStat);
  ASSERT_TRUE(s);
  const ProcessStats p = to_process_stats(*s, 1700000000, 100, 4096);
  EXPECT_DOUBLE_EQ(p.cpu_seconds, 3.25);
  EXPECT_DOUBLE_EQ(p.resident_bytes, 2048.0 * 4096);
  EXPECT_DOUBLE_EQ(p.virtual_bytes, 987654321.0);
  EXPECT_DOUBLE_EQ(p.start_time_seconds, 1700000000 + 1234.56);
}

TEST(ProcStat, BootTimeIsTheBtimeLine) {
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5 6\nctxt 99\nbtime 1764900000\nprocesses 7\n"), 1764900000u);
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\nbtime 17\n"), 17u);
  EXPECT_FALSE(parse_boot_time("cpu  1 2 3\nxbtime 5\n"));
  EXPECT_FALSE(parse_boot_time(""));
}

TEST(ProcLimits, MaxOpenFilesIsTheSoftLimit) {
  const std::string limits =
      "Limit                     Soft Limit           Hard Limit           Units     \n"
      "Max processes             96367                96367                processes \n"
      "Max open files            20000                524288               files     \n";
  EXPECT_EQ(parse_max_open_files(limits), 20000u);
  EXPECT_FALSE(parse_max_open_files("Max open files            unlimited            unlimited            files\n"));
  EXPECT_FALSE(parse_max_open_files("Max processes 5 5 processes\n"));
}

TEST(ProcessStats, ThisProcessReadsAsALiveOne) {
  const ProcessStats p = read_process_stats();
  EXPECT_GT(p.resident_bytes, 0);
  EXPECT_GE(p.virtual_bytes, p.resident_bytes);
  EXPECT_GT(p.start_time_seconds, 1.5e9);
  EXPECT_GE(p.open_fds, 3);  // stdin, stdout, stderr
  EXPECT_GE(p.max_fds, p.open_fds);
}

TEST(StateFamilies, ZeroValuedBeforeAnyEvent) {
  const std::string page = render_metrics({}, RoutingSnapshot{}, RolloutMetrics{});
  EXPECT_EQ(samples(page, "canaryd_config_reloads_total"),
            (std::vector<std::string>{"canaryd_config_reloads_total{result=\"success\"} 0",
                                      "canaryd_config_reloads_total{result=\"failure\"} 0"}));
  EXPECT_EQ(samples(page, "canaryd_last_change_timestamp_seconds"),
            std::vector<std::string>{"canaryd_last_change_timestamp_seconds 0"});
  EXPECT_NE(page.find("# TYPE canaryd_set_info gauge"), std::string::npos);
  EXPECT_NE(page.find("# TYPE canaryd_config_reloads_total counter"), std::string::npos);
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
                           "process_open_fds", "process_max_fds", "process_start_time_seconds"})
    EXPECT_EQ(samples(page, name).size(), 1u) << name;
  EXPECT_NE(page.find("# TYPE process_cpu_seconds_total counter"), std::string::npos);
}

TEST(StateFamilies, TheCallerSaysTheSetsTheChangeAndTheReloads) {
  StateMetrics state;
  state.sets = {{"stable", "app=web,version=v1"}, {"canary", "app=web,version in (v2,v3)"}};
  state.last_change_seconds = 1764900000.5;
  state.reloads = {3, 1};
  const std::string page = render_metrics({}, RoutingSnapshot{}, RolloutMetrics{}, nullptr, state);
  EXPECT_EQ(samples(page, "canaryd_set_info"),
            (std::vector<std::string>{"canaryd_set_info{selector=\"app=web,version=v1\",set=\"stable\"} 1",
                                      "canaryd_set_info{selector=\"app=web,version in (v2,v3)\",set=\"canary\"} 1"}));
  EXPECT_EQ(samples(page, "canaryd_last_change_timestamp_seconds"),
            std::vector<std::string>{"canaryd_last_change_timestamp_seconds 1764900000.5"});
  EXPECT_EQ(samples(page, "canaryd_config_reloads_total"),
            (std::vector<std::string>{"canaryd_config_reloads_total{result=\"success\"} 3",
                                      "canaryd_config_reloads_total{result=\"failure\"} 1"}));
}

}  // namespace
}  // namespace canaryd::proxy
