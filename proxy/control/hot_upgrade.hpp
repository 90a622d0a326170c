// The old process's half of a hot upgrade (SIGUSR2, as nginx's): starts the new binary with the same
// command line and the listening sockets, and waits until it says it serves, fails, or takes too long.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/result.hpp"
#include "proxy/net/inherited_sockets.hpp"

namespace canaryd::proxy {

/// A successor that did not become ready.
struct UpgradeFailure {
  pid_t pid = -1;   ///< -1 when none was started
  std::string why;  ///< its exit status, a signal, the deadline, or why it could not be started
};

/// Main thread only.
class HotUpgrade {
 public:
  /// The successor's pid once it serves, or what went wrong.
  using Done = std::function<void(Result<pid_t, UpgradeFailure>)>;

  explicit HotUpgrade(boost::asio::io_context& io);
  ~HotUpgrade();

  /// `exe`: the binary's absolute path as resolved at start (a package upgrade may have replaced the
  /// file since: that is the point); `args`: our arguments, without argv[0].
  void set_command(std::string exe, std::vector<std::string> args);
  bool configured() const { return !exe_.empty(); }
  const std::string& exe() const { return exe_; }
  bool in_progress() const { return child_ > 0; }

  /// Starts the successor with `sockets` open in it; `done` runs on the main thread once.
  void start(const std::vector<HandedSocket>& sockets, std::chrono::steady_clock::duration deadline, Done done);
  /// Kills a successor that is not ready yet (we are stopping); `done` does not run.
  void abandon();

 private:
  void read_ready();
  /// Ends the attempt as failed: `done` gets `why`.
  void give_up(std::string why);
  void reap(std::string why, int attempts);

  boost::asio::io_context& io_;
  std::string exe_;
  std::vector<std::string> args_;
  pid_t child_ = -1;  ///< while the successor is not ready yet
  pid_t started_ = -1;
  bool timed_out_ = false;
  long long deadline_seconds_ = 0;
  boost::asio::posix::stream_descriptor ready_pipe_{io_};
  boost::asio::steady_timer deadline_{io_};
  std::array<char, 64> buffer_{};
  std::string said_;
  Done done_;
};

/// The absolute path of the binary we run from: argv[0] made absolute (kept as given, so a symlink
/// that a package upgrade re-points is followed), or /proc/self/exe when argv[0] names no file.
std::string resolve_own_binary(const char* argv0);

}  // namespace canaryd::proxy
