// Starting the successor of a hot upgrade (see hot_upgrade.hpp): fork and exec with only the handed
// sockets inherited, the ready pipe, the deadline and reaping a successor that failed.
#include "proxy/control/hot_upgrade.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <boost/asio/buffer.hpp>

extern char** environ;

namespace canaryd::proxy {

namespace {

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "it exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = ::sigabbrev_np(WTERMSIG(status));
    return "it was killed by signal " + std::to_string(WTERMSIG(status)) + (name ? std::string(" (SIG") + name + ")" : "");
  }
  return "it ended with wait status " + std::to_string(status);
}

// In the forked child, before exec: only async-signal-safe calls. Every descriptor but stdin, stdout,
// stderr and `keep` becomes close-on-exec: the successor must not hold the client connections of this
// process open (their FIN would never be sent).
void keep_only(const int* keep, std::size_t count) {
#ifdef CLOSE_RANGE_CLOEXEC
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
#endif
  {
    const long most = ::sysconf(_SC_OPEN_MAX);
    for (long fd = 3; fd < most; ++fd) ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  }
  for (std::size_t i = 0; i < count; ++i) ::fcntl(keep[i], F_SETFD, 0);
}

}  // namespace

HotUpgrade::HotUpgrade(boost::asio::io_context& io) : io_(io) {}

HotUpgrade::~HotUpgrade() { abandon(); }

void HotUpgrade::set_command(std::string exe, std::vector<std::string> args) {
  exe_ = std::move(exe);
  args_ = std::move(args);
}

void HotUpgrade::start(const std::vector<HandedSocket>& sockets, std::chrono::steady_clock::duration deadline,
                       Done done) {
  done_ = std::move(done);
  started_ = -1;
  said_.clear();
  timed_out_ = false;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    give_up(std::string("cannot create a pipe: ") + std::strerror(errno));
    return;
  }
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e) {
    std::string_view v(*e);
    if (v.starts_with(std::string(kInheritedFdsEnv) + "=") || v.starts_with(std::string(kReadyFdEnv) + "=")) continue;
    env_text.emplace_back(v);
  }
  env_text.push_back(std::string(kInheritedFdsEnv) + "=" + encode_handed_sockets(sockets));
  env_text.push_back(std::string(kReadyFdEnv) + "=" + std::to_string(pipe_fds[1]));
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_text{exe_};
  arg_text.insert(arg_text.end(), args_.begin(), args_.end());
  std::vector<char*> argv;
  for (auto& a : arg_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<int> keep{pipe_fds[1]};
  for (const auto& s : sockets) keep.push_back(s.fd);

  const pid_t pid = ::fork();
  if (pid == 0) {
    keep_only(keep.data(), keep.size());
    ::execve(argv[0], argv.data(), envp.data());
    const char msg[] = "canaryd: hot upgrade: cannot execute the new binary\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    give_up(std::string("cannot fork: ") + std::strerror(errno));
    return;
  }
  child_ = started_ = pid;
  deadline_seconds_ = std::chrono::duration_cast<std::chrono::seconds>(deadline).count();
  ready_pipe_.assign(pipe_fds[0]);
  deadline_.expires_after(deadline);
  deadline_.async_wait([this](boost::system::error_code ec) {
    if (ec || child_ <= 0) return;
    timed_out_ = true;
    ::kill(child_, SIGKILL);  // the pipe's end follows, and with it the failure
  });
  read_ready();
}

void HotUpgrade::read_ready() {
  ready_pipe_.async_read_some(boost::asio::buffer(buffer_), [this](boost::system::error_code ec, std::size_t n) {
    if (ec == boost::asio::error::operation_aborted || child_ <= 0) return;
    said_.append(buffer_.data(), n);
    if (!ec && said_.find("ready") != std::string::npos) {
      // The successor serves; it stays running when we are gone.
      child_ = -1;
      deadline_.cancel();
      boost::system::error_code ignored;
      ready_pipe_.close(ignored);
      if (auto done = std::move(done_)) done(started_);
      return;
    }
    if (!ec) return read_ready();
    reap(timed_out_ ? "it was not ready within " + std::to_string(deadline_seconds_) + " s and was killed" : "", 0);
  });
}

void HotUpgrade::reap(std::string why, int attempts) {
  // The pipe ends when the child's descriptors close, a moment before it can be waited for.
  int status = 0;
  const pid_t r = ::waitpid(child_, &status, WNOHANG);
  if (r == 0 && attempts < 100) {
    deadline_.expires_after(std::chrono::milliseconds(10));
    deadline_.async_wait([this, why = std::move(why), attempts](boost::system::error_code ec) mutable {
      if (!ec) reap(std::move(why), attempts + 1);
    });
    return;
  }
  if (r == 0) {
    // It closed the pipe without saying "ready" and lives on: not a successor we can trust.
    ::kill(child_, SIGKILL);
    ::waitpid(child_, &status, 0);
    if (why.empty()) why = "it closed its readiness pipe without being ready and was killed";
  } else if (why.empty()) {
    why = describe_status(status);
  }
  child_ = -1;
  boost::system::error_code ignored;
  ready_pipe_.close(ignored);
  give_up(std::move(why));
}

void HotUpgrade::give_up(std::string why) {
  deadline_.cancel();
  if (auto done = std::move(done_)) done(canaryd::fail(UpgradeFailure{started_, std::move(why)}));
}

void HotUpgrade::abandon() {
  done_ = nullptr;
  if (child_ > 0) {
    ::kill(child_, SIGKILL);
    int status = 0;
    ::waitpid(child_, &status, 0);
    child_ = -1;
  }
  boost::system::error_code ignored;
  ready_pipe_.close(ignored);
  deadline_.cancel();
}

std::string resolve_own_binary(const char* argv0) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (argv0 && std::strchr(argv0, '/')) {
    fs::path p = fs::absolute(argv0, ec).lexically_normal();
    if (!ec && fs::is_regular_file(p, ec)) return p.string();
  } else if (argv0 && *argv0) {
    // Found on PATH, as the shell did.
    const char* path = std::getenv("PATH");
    std::string_view dirs = path ? path : "";
    while (!dirs.empty()) {
      const auto colon = dirs.find(':');
      fs::path candidate = fs::path(std::string(dirs.substr(0, colon))) / argv0;
      dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
      if (candidate.is_absolute() && ::access(candidate.c_str(), X_OK) == 0) return candidate.lexically_normal().string();
    }
  }
  auto self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : self.string();
}

}  // namespace canaryd::proxy
