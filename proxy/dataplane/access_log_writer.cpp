// The access log's writer thread (see access_log_writer.hpp).
#include "proxy/dataplane/access_log_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "proxy/net/log.hpp"

namespace canaryd::proxy {
namespace {

Result<int> open_log(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return fail("cannot open " + path + ": " + std::strerror(errno));
  return fd;
}

}  // namespace

AccessLogWriter::AccessLogWriter(std::size_t workers) {
  for (std::size_t i = 0; i < workers; ++i) buffers_.push_back(std::make_unique<AccessLogBuffers>(wake_));
}

AccessLogWriter::~AccessLogWriter() { stop(); }

Result<void> AccessLogWriter::use(const std::string& path) {
  int fd = -1;
  if (!path.empty()) {
    auto opened = open_log(path);
    if (!opened) return fail(std::move(opened).error());
    fd = *opened;
    for (auto& b : buffers_) b->allocate();
  }
  if (path.empty() && path_.empty() && !thread_.joinable()) return {};
  path_ = path;
  {
    std::lock_guard lock(mutex_);
    switches_.push_back({fd, path});
  }
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_one();
  return {};
}

Result<void> AccessLogWriter::reopen() {
  if (path_.empty()) return {};
  return use(path_);
}

void AccessLogWriter::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_one();
  thread_.join();
}

std::uint64_t AccessLogWriter::dropped() const {
  std::uint64_t n = unwritten_.load(std::memory_order_relaxed);
  for (const auto& b : buffers_) n += b->dropped();
  return n;
}

void AccessLogWriter::run() {
  for (;;) {
    const std::uint32_t seen = wake_.load(std::memory_order_acquire);
    bool stopping = false;
    std::vector<Switch> switches;
    {
      std::lock_guard lock(mutex_);
      switches.swap(switches_);
      stopping = stop_;
    }
    for (auto& s : switches) {
      // Off: the file stays open for the lines logged before, which workers may still hand over.
      if (s.fd < 0) continue;
      // What was handed over before the switch belongs to the file before it (if there was one: lines
      // are only logged once a file was given).
      if (fd_ >= 0) {
        collect_all(fd_);
        ::close(fd_);
      }
      fd_ = s.fd;
      fd_path_ = std::move(s.path);
    }
    collect_all(fd_);
    if (stopping) break;
    wake_.wait(seen, std::memory_order_acquire);
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void AccessLogWriter::collect_all(int fd) {
  for (auto& b : buffers_) b->collect([&](std::string_view text) { write_buffer(fd, text); });
}

void AccessLogWriter::write_buffer(int fd, std::string_view text) {
  if (fd < 0) return;  // never: a line is logged only once a file was given
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const auto lines = static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n'));
      unwritten_.fetch_add(lines, std::memory_order_relaxed);
      if (!failing_) log_line("access_log: cannot write to " + fd_path_ + " (" + std::strerror(errno) + "); its lines are dropped and counted");
      failing_ = true;
      return;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  if (failing_) log_line("access_log: writing to " + fd_path_ + " again");
  failing_ = false;
}

}  // namespace canaryd::proxy
