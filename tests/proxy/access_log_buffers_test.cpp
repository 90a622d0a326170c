// Unit tests of the access log's buffering: a worker's ring hands its buffers over in order, drops and
// counts lines rather than wait when the writer holds every buffer; the writer thread writes what was
// handed over, switches files on reopen (logrotate) without losing a line, turns off, and writes the
// last lines when it stops.
#include "proxy/dataplane/access_log_buffers.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "proxy/dataplane/access_log_writer.hpp"

namespace canaryd::proxy {
namespace {

AccessRecord record(int n) {
  AccessRecord r;
  r.time = std::chrono::system_clock::now();
  r.client = "127.0.0.1";
  r.method = "GET";
  r.target = "/";
  r.status = 200 + n % 100;  // tells the lines apart
  r.set = "stable";
  r.bytes_in = static_cast<std::uint64_t>(n);
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(AccessLogBuffers, HandsOverInOrderAndOnlyWithLines) {
  std::atomic<std::uint32_t> wake{0};
  AccessLogBuffers b(wake);
  b.allocate();
  b.hand_over();  // empty: nothing to hand over
  EXPECT_EQ(wake.load(), 0u);
  b.append(record(1));
  b.append(record(2));
  std::string got;
  EXPECT_EQ(b.collect([&](std::string_view t) { got += t; }), 0u);  // not handed over yet
  b.hand_over();
  EXPECT_EQ(wake.load(), 1u);
  b.append(record(3));
  b.hand_over();
  EXPECT_EQ(b.collect([&](std::string_view t) { got += t; }), 2u);
  const auto lines = lines_of(got);
  ASSERT_EQ(lines.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_NE(lines[i].find("\"bytes_in\":" + std::to_string(i + 1) + ","), std::string::npos);
  EXPECT_EQ(b.dropped(), 0u);
}

TEST(AccessLogBuffers, DropsAndCountsWhenTheWriterHoldsEveryBuffer) {
  std::atomic<std::uint32_t> wake{0};
  AccessLogBuffers b(wake);
  b.allocate();
  // Fill every buffer without collecting: a full one is handed over by itself.
  std::size_t appended = 0;
  while (wake.load() < AccessLogBuffers::kBuffers) {
    b.append(record(static_cast<int>(appended)));
    ++appended;
  }
  // The line that filled the last buffer found the next one still with the writer.
  EXPECT_EQ(b.dropped(), 1u);
  b.append(record(0));
  b.append(record(0));
  EXPECT_EQ(b.dropped(), 3u);
  std::size_t lines = 0;
  EXPECT_EQ(b.collect([&](std::string_view t) { lines += lines_of(std::string(t)).size(); }), AccessLogBuffers::kBuffers);
  // Every line not dropped was in a handed-over buffer but the one that did not fit the last buffer.
  EXPECT_EQ(lines, appended - 1);
  b.append(record(1));  // a buffer is free again
  EXPECT_EQ(b.dropped(), 3u);
}

class AccessLogWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("canaryd-access-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const char* name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(AccessLogWriterTest, WritesWhatWasHandedOverAndTheRestWhenItStops) {
  AccessLogWriter w(2);
  ASSERT_TRUE(w.use(path("a.log")).ok());
  w.buffers(0).append(record(1));
  w.buffers(1).append(record(2));
  w.buffers(0).hand_over();
  w.buffers(1).hand_over();
  w.stop();
  const auto lines = lines_of(read_file(path("a.log")));
  EXPECT_EQ(lines.size(), 2u);
  EXPECT_EQ(w.dropped(), 0u);
}

TEST_F(AccessLogWriterTest, ReopenAfterARenameLosesNoLine) {
  AccessLogWriter w(1);
  ASSERT_TRUE(w.use(path("a.log")).ok());
  w.buffers(0).append(record(1));
  w.buffers(0).hand_over();
  std::filesystem::rename(path("a.log"), path("a.log.1"));  // logrotate moves it ...
  w.buffers(0).append(record(2));
  w.buffers(0).hand_over();
  ASSERT_TRUE(w.reopen().ok());  // ... and signals
  w.buffers(0).append(record(3));
  w.buffers(0).hand_over();
  w.stop();
  const auto old_lines = lines_of(read_file(path("a.log.1")));
  const auto new_lines = lines_of(read_file(path("a.log")));
  // Handed over before the reopen: the old file; after it: the new one once the writer switched. None
  // is lost, none is written twice, and the order holds across the two files.
  std::vector<std::string> all = old_lines;
  all.insert(all.end(), new_lines.begin(), new_lines.end());
  ASSERT_EQ(all.size(), 3u);
  ASSERT_GE(old_lines.size(), 2u);
  for (int i = 0; i < 3; ++i) EXPECT_NE(all[i].find("\"bytes_in\":" + std::to_string(i + 1) + ","), std::string::npos);
}

TEST_F(AccessLogWriterTest, ReopenCreatesTheFileAgainAtOnce) {
  AccessLogWriter w(1);
  ASSERT_TRUE(w.use(path("a.log")).ok());
  std::filesystem::rename(path("a.log"), path("a.log.1"));
  ASSERT_TRUE(w.reopen().ok());
  EXPECT_TRUE(std::filesystem::exists(path("a.log")));  // before the writer's next pass
  w.stop();
}

TEST_F(AccessLogWriterTest, AnUnopenableFileChangesNothing) {
  AccessLogWriter w(1);
  ASSERT_TRUE(w.use(path("a.log")).ok());
  const auto r = w.use(path("no/such/dir/b.log"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot open " + path("no/such/dir/b.log") + ": No such file"), std::string::npos);
  EXPECT_EQ(w.path(), path("a.log"));
  w.buffers(0).append(record(1));
  w.buffers(0).hand_over();
  w.stop();
  EXPECT_EQ(lines_of(read_file(path("a.log"))).size(), 1u);
}

TEST_F(AccessLogWriterTest, OffByDefaultAndAfterAnEmptyPath) {
  AccessLogWriter w(1);
  EXPECT_TRUE(w.use("").ok());
  EXPECT_FALSE(w.buffers(0).allocated());
  ASSERT_TRUE(w.use(path("a.log")).ok());
  EXPECT_TRUE(w.buffers(0).allocated());
  w.buffers(0).append(record(1));
  w.buffers(0).hand_over();
  ASSERT_TRUE(w.use("").ok());
  w.stop();
  EXPECT_EQ(lines_of(read_file(path("a.log"))).size(), 1u);  // handed over before the switch
  EXPECT_EQ(w.path(), "");
}

}  // namespace
}  // namespace canaryd::proxy
