// Reads a bearer-token file (see token_file.hpp): the mode check on the open descriptor, a size bound,
// trimming.
#include "config/token_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace canaryd::config {
namespace {

constexpr std::size_t kMaxTokenFileBytes = 64 * 1024;

// Closes the descriptor on every path out.
struct Descriptor {
  int fd;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

std::string trim_token(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kSpace);
  return std::string(text.substr(first, last - first + 1));
}

Result<std::string> read_token_file(const std::string& path, TokenFileAccess access) {
  Descriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY)};
  if (file.fd < 0) return fail(std::strerror(errno));
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) return fail(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail("not a regular file");
  // A bearer token others can read is no secret, and one others can write lets them choose it (like
  // ssh refusing a private key others can read).
  const bool readable = (st.st_mode & S_IROTH) != 0;
  const bool writable = (st.st_mode & S_IWOTH) != 0;
  if (access == TokenFileAccess::Private && (readable || writable)) {
    return fail(std::string(readable && writable ? "readable and writable" : readable ? "readable" : "writable") +
                " by everyone (mode " + octal_mode(st.st_mode) + "); chmod o-rw it");
  }
  std::string content;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(file.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(std::strerror(errno));
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
    if (content.size() > kMaxTokenFileBytes) return fail("over 64 KiB: not a token file");
  }
  std::string token = trim_token(content);
  if (token.empty()) return fail("the file is empty");
  return token;
}

}  // namespace canaryd::config
