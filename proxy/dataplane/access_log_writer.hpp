// The access log's writer thread: collects the buffers the workers hand over and writes them to the
// file, so that the request path never waits on the disk. SIGUSR1 reopens the file (logrotate), a
// reload may switch it to another path or off, and the end of the process writes what is left.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/result.hpp"
#include "proxy/dataplane/access_log_buffers.hpp"

namespace canaryd::proxy {

class AccessLogWriter {
 public:
  /// One ring of buffers per worker; nothing is allocated or started until a path is given.
  explicit AccessLogWriter(std::size_t workers);
  ~AccessLogWriter();
  AccessLogWriter(const AccessLogWriter&) = delete;
  AccessLogWriter& operator=(const AccessLogWriter&) = delete;

  /// Worker `worker`'s ring; its address never changes.
  AccessLogBuffers& buffers(std::size_t worker) { return *buffers_[worker]; }

  /// Main thread: the lines handed over from now on go to `path`. The file is opened here (appending;
  /// created 0640), so the error is the caller's to report; on error nothing changes. A non-empty path
  /// allocates the workers' buffers before it returns. "" (off): the workers stop logging (the
  /// snapshot says so) and what they logged before still goes to the file in use, kept open until
  /// another path is given or the writer stops.
  Result<void> use(const std::string& path);
  /// Main thread (SIGUSR1): opens the same path again, a new file when logrotate moved the old one.
  /// Lines handed over before go to the old file, the later ones to the new: none is lost.
  Result<void> reopen();
  /// Main thread, once the workers have ended (and handed over their last lines): writes what is left,
  /// closes the file and ends the thread.
  void stop();

  const std::string& path() const { return path_; }
  /// Any thread: lines dropped because the writer fell behind, or because the file refused them.
  std::uint64_t dropped() const;

 private:
  void run();
  /// Writer thread: writes every buffer handed over to `fd` (-1: discards them).
  void collect_all(int fd);
  void write_buffer(int fd, std::string_view text);

  std::atomic<std::uint32_t> wake_{0};
  std::vector<std::unique_ptr<AccessLogBuffers>> buffers_;
  std::string path_;  ///< main thread
  /// A file to switch to (-1: none, the log is off), in the order the main thread asked.
  struct Switch {
    int fd;
    std::string path;
  };
  std::mutex mutex_;  ///< the main thread and the writer only; never a worker
  std::vector<Switch> switches_;  ///< guarded by mutex_
  bool stop_ = false;  ///< guarded by mutex_
  int fd_ = -1;        ///< writer thread
  std::string fd_path_;  ///< writer thread: fd_'s path, for its error lines
  bool failing_ = false;  ///< writer thread: the last write failed (logged once until one succeeds)
  std::atomic<std::uint64_t> unwritten_{0};  ///< lines the file refused
  std::thread thread_;
};

}  // namespace canaryd::proxy
