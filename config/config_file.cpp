// Reads a config file from disk (size-capped, errno reported) and hands its text to load_config_text.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "config/config.hpp"

namespace canaryd::config {
namespace {

// A config is a few kilobytes; refusing huge files keeps a mistaken path (a log, a disk image) from
// being slurped into memory.
constexpr std::size_t kMaxConfigBytes = 4 * 1024 * 1024;

}  // namespace

// POSIX read rather than ifstream: it reports why (ENOENT, EACCES, EISDIR) through errno reliably.
LoadResult load_config_file(const std::string& path) {
  const auto cannot_read = [&](const std::string& why) {
    return LoadResult(fail(ConfigErrors{path + ": cannot read: " + why}));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cannot_read(std::strerror(errno));
  std::string text;
  char buf[16384];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return cannot_read(std::strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxConfigBytes) {
      ::close(fd);
      return cannot_read("larger than " + std::to_string(kMaxConfigBytes / (1024 * 1024)) + " MiB");
    }
  }
  ::close(fd);
  return load_config_text(text, path);
}

}  // namespace canaryd::config
