// The state file (see state_store.hpp): its JSON format and strict reading, the atomic write (temporary
// file, fsync, rename, fsync of the directory) and the cleanup of temporaries left by a killed writer.
#include "weights/state_store.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "weights/json_text.hpp"
#include "weights/revision_json.hpp"

namespace canaryd::weights {

namespace {

namespace json = boost::json;

constexpr std::int64_t kFormat = 1;
// canaryd writes under half a MiB (kMaxHistoryBytes); anything this large is not ours. The slack lets a
// file written before that bound existed (history_limit long causes, many MiB) load: it is trimmed to
// the bound as it loads, and the next change writes it small.
constexpr std::size_t kMaxStateBytes = 64 * 1024 * 1024;

// Names tried for the temporary file before a save gives up: a name is taken only when something was
// planted there, and each try draws a new random suffix.
constexpr int kTemporaryNameTries = 16;

std::string errno_text(int err) { return std::strerror(err); }

/// ".tmp.<pid>.<16 hex digits>": the pid tells remove_stale_temporaries() whether its writer still runs;
/// the random part makes the name unpredictable, so nobody can plant a symlink at it in advance.
std::string temporary_suffix() {
  std::uint64_t random = 0;
  if (::getrandom(&random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) {
    // No entropy source (never on Linux >= 3.17): O_EXCL still refuses a planted name, and the retry
    // draws another; the clock merely makes a collision with our own leftovers unlikely.
    random = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(random));
  return ".tmp." + std::to_string(::getpid()) + "." + hex;
}

/// The pid in a temporary file's name after the ".tmp." prefix: "<pid>" (written before the random part
/// existed) or "<pid>.<16 hex digits>"; nullopt for any other name.
std::optional<pid_t> temporary_owner(std::string_view rest) {
  const auto dot = rest.find('.');
  const std::string_view pid_text = rest.substr(0, dot);
  if (pid_text.empty() || pid_text.size() > 9 || pid_text.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  if (dot != std::string_view::npos) {
    const std::string_view random = rest.substr(dot + 1);
    if (random.size() != 16 || random.find_first_not_of("0123456789abcdef") != std::string_view::npos) {
      return std::nullopt;
    }
  }
  return static_cast<pid_t>(std::stol(std::string(pid_text)));
}

}  // namespace

std::string history_to_json(const RoutingHistory& h) {
  json::array revisions;
  for (const RoutingState& r : h.revisions()) revisions.push_back(revision_to_json(r));
  json::object doc;
  doc["format"] = kFormat;
  doc["history_limit"] = h.limit();
  doc["revisions"] = std::move(revisions);
  return to_json_text(doc) + "\n";
}

Result<RoutingHistory> history_from_json(const std::string& text, unsigned limit) {
  auto doc = parse_json(text);
  if (!doc) return fail(std::move(doc).error());
  const json::object* obj = doc->if_object();
  if (obj == nullptr) return fail("top level must be an object");
  for (const auto& kv : *obj) {
    if (kv.key() != "format" && kv.key() != "history_limit" && kv.key() != "revisions") {
      return fail("unknown field \"" + std::string(kv.key()) + "\"");
    }
  }
  const json::value* format = obj->if_contains("format");
  if (format == nullptr) return fail("missing field \"format\"");
  // A newer canaryd may write a format this one cannot read; refusing beats misreading it.
  if (!format->is_int64() || format->get_int64() != kFormat) {
    return fail("format: unsupported (expected " + std::to_string(kFormat) + ")");
  }
  // history_limit is informational (the config decides the bound), but it must still be well formed.
  const json::value* stored_limit = obj->if_contains("history_limit");
  if (stored_limit == nullptr) return fail("missing field \"history_limit\"");
  const auto stored_limit_value = json_unsigned(*stored_limit);
  if (!stored_limit_value || *stored_limit_value == 0) return fail("history_limit: must be a positive integer");
  const json::value* revisions_value = obj->if_contains("revisions");
  if (revisions_value == nullptr) return fail("missing field \"revisions\"");
  const json::array* revisions = revisions_value->if_array();
  if (revisions == nullptr || revisions->empty()) return fail("revisions: must be a non-empty array");

  std::vector<RoutingState> states;
  states.reserve(revisions->size());
  for (std::size_t i = 0; i < revisions->size(); ++i) {
    const std::string where = "revisions[" + std::to_string(i) + "]";
    auto state = revision_from_json((*revisions)[i], where);
    if (!state) return fail(std::move(state).error());
    if (!states.empty() && state->revision <= states.back().revision) {
      return fail(where + ".revision: must be greater than the one before (" +
                  std::to_string(states.back().revision) + ")");
    }
    states.push_back(std::move(*state));
  }

  // Pushing through the history applies the current limit: a longer stored history keeps its newest.
  RoutingHistory history(std::move(states.front()), limit);
  for (std::size_t i = 1; i < states.size(); ++i) history.push(std::move(states[i]));
  return history;
}

LoadedState StateStore::load(unsigned limit) const {
  const auto corrupt = [&](const std::string& what) { return fail("state file " + path_ + ": " + what); };
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return std::optional<RoutingHistory>();
    return corrupt("cannot open: " + errno_text(err));
  }
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return corrupt("cannot read: " + errno_text(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxStateBytes) {
      ::close(fd);
      return corrupt("larger than " + std::to_string(kMaxStateBytes) + " bytes");
    }
  }
  ::close(fd);

  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return corrupt("empty");
  auto history = history_from_json(text, limit);
  if (!history) return corrupt(history.error().message);
  return std::optional<RoutingHistory>(std::move(history).value());
}

std::size_t StateStore::remove_stale_temporaries() const {
  namespace fs = std::filesystem;
  const fs::path file(path_);
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  const std::string prefix = file.filename().string() + ".tmp.";
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const auto pid = temporary_owner(std::string_view(name).substr(prefix.size()));
    if (!pid) continue;
    // Only regular files are ours: a symlink or anything else at such a name was planted, and removing
    // what it points to is exactly what must never happen (symlink_status does not follow it).
    std::error_code status_error;
    if (!fs::is_regular_file(entry.symlink_status(status_error))) continue;
    // ESRCH: no such process, so nobody will rename this file any more.
    if (*pid == ::getpid() || ::kill(*pid, 0) == 0 || errno != ESRCH) continue;
    std::error_code rm;
    if (fs::remove(entry.path(), rm)) ++removed;
  }
  return removed;
}

Result<void> StateStore::save(const RoutingHistory& h) const {
  const std::string text = history_to_json(h);
  // Beside the target, so that rename() stays within one filesystem and is atomic. Created exclusively
  // (O_EXCL, and O_NOFOLLOW for good measure), so a file or symlink planted at the name is never
  // written through; the name is unpredictable, and a taken one is simply replaced by another. Mode
  // 0600: the state is the operator's, and the rename makes the state file itself 0600.
  std::string tmp;
  const auto failed = [&](const std::string& what, int err, bool created) -> Result<void> {
    if (created) ::unlink(tmp.c_str());
    return fail("state file " + path_ + ": " + what + ": " + errno_text(err));
  };

  int fd = -1;
  for (int attempt = 0; attempt < kTemporaryNameTries && fd < 0; ++attempt) {
    tmp = path_ + (suffixes_ != nullptr ? suffixes_() : temporary_suffix());
    fd = ::open(tmp.c_str(), O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) break;
  }
  // Nothing to unlink when open failed: whatever is at that path is not ours.
  if (fd < 0) return failed("cannot create " + tmp, errno, false);

  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return failed("cannot write " + tmp, err, true);
    }
    written += static_cast<std::size_t>(n);
  }
  // Data must be on disk before the rename makes it the state file, or a crash could leave an empty file.
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return failed("cannot fsync " + tmp, err, true);
  }
  if (::close(fd) != 0) return failed("cannot close " + tmp, errno, true);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return failed("cannot rename " + tmp, errno, true);

  // The rename itself lives in the directory; without this fsync a crash may bring back the old file.
  const auto slash = path_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path_.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return failed("cannot open directory " + dir, errno, false);
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  // EINVAL: the filesystem cannot sync directories (some FUSE and network mounts); the rename is as
  // durable there as it can be. Any other failure means the change may not survive a crash, so it is
  // reported (the new file is in place, but the caller will not publish what may be lost).
  if (rc != 0 && err != EINVAL) return failed("cannot fsync directory " + dir, err, false);
  return {};
}

SaveResult FileStateBackend::save(const RoutingHistory& h) {
  auto saved = store_.save(h);
  if (!saved) return fail(SaveError{SaveError::Kind::Failed, std::move(saved).error().message});
  return {};
}

}  // namespace canaryd::weights
