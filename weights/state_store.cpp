#include "weights/state_store.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "weights/json_text.hpp"

namespace canaryd::weights {

namespace {

namespace json = boost::json;

constexpr std::int64_t kFormat = 1;
// A state file holds history_limit small revisions; anything this large is not ours.
constexpr std::size_t kMaxStateBytes = 16 * 1024 * 1024;

std::optional<std::uint64_t> as_unsigned(const json::value& v) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  return std::nullopt;
}

std::string errno_text(int err) { return std::strerror(err); }

/// Parses one element of "revisions"; `where` is its path for messages ("revisions[2]").
std::optional<RoutingState> revision_from_json(const json::value& v, const std::string& where, std::string& error) {
  const json::object* obj = v.if_object();
  if (obj == nullptr) {
    error = where + ": must be an object";
    return std::nullopt;
  }
  static const std::set<std::string, std::less<>> kKeys = {"revision", "time",           "stable",
                                                          "canary",   "canary_weight_bp", "cause"};
  for (const auto& kv : *obj) {
    if (!kKeys.contains(std::string_view(kv.key()))) {
      error = where + ": unknown field \"" + std::string(kv.key()) + "\"";
      return std::nullopt;
    }
  }
  for (const auto& key : kKeys) {
    if (!obj->contains(key)) {
      error = where + ": missing field \"" + key + "\"";
      return std::nullopt;
    }
  }

  RoutingState state;
  const auto revision = as_unsigned(obj->at("revision"));
  if (!revision || *revision == 0) {
    error = where + ".revision: must be a positive integer";
    return std::nullopt;
  }
  state.revision = *revision;

  const json::string* time = obj->at("time").if_string();
  const auto parsed_time = time ? parse_time(std::string(*time)) : std::nullopt;
  if (!parsed_time) {
    error = where + ".time: must be an RFC 3339 UTC time like 2026-11-27T15:00:00Z";
    return std::nullopt;
  }
  state.time = *parsed_time;

  const json::string* stable = obj->at("stable").if_string();
  if (stable == nullptr) {
    error = where + ".stable: must be a selector string";
    return std::nullopt;
  }
  std::string sel_error;
  auto stable_sel = config::Selector::parse(std::string_view(*stable), sel_error);
  if (!stable_sel) {
    error = where + ".stable: " + sel_error;
    return std::nullopt;
  }
  state.stable = std::move(*stable_sel);

  const json::value& canary = obj->at("canary");
  if (!canary.is_null()) {
    const json::string* canary_text = canary.if_string();
    if (canary_text == nullptr) {
      error = where + ".canary: must be a selector string or null";
      return std::nullopt;
    }
    auto canary_sel = config::Selector::parse(std::string_view(*canary_text), sel_error);
    if (!canary_sel) {
      error = where + ".canary: " + sel_error;
      return std::nullopt;
    }
    state.canary = std::move(*canary_sel);
  }

  const auto weight = as_unsigned(obj->at("canary_weight_bp"));
  if (!weight || *weight > config::kMaxBasisPoints) {
    error = where + ".canary_weight_bp: must be an integer from 0 to " + std::to_string(config::kMaxBasisPoints);
    return std::nullopt;
  }
  if (!state.canary && *weight != 0) {
    error = where + ".canary_weight_bp: must be 0 when canary is null";
    return std::nullopt;
  }
  state.canary_weight = static_cast<config::BasisPoints>(*weight);

  const json::string* cause = obj->at("cause").if_string();
  if (cause == nullptr) {
    error = where + ".cause: must be a string";
    return std::nullopt;
  }
  state.cause = std::string(*cause);
  return state;
}

}  // namespace

std::string history_to_json(const RoutingHistory& h) {
  json::array revisions;
  for (const RoutingState& r : h.revisions()) {
    json::object o;
    o["revision"] = r.revision;
    o["time"] = format_time(r.time);
    // Canonical selector strings: readable in the file and parsed back by the same code as the config.
    o["stable"] = r.stable.to_string();
    if (r.canary) {
      o["canary"] = r.canary->to_string();
    } else {
      o["canary"] = nullptr;
    }
    // Basis points, an integer: a percent as a double would not survive every round trip exactly.
    o["canary_weight_bp"] = r.canary_weight;
    o["cause"] = r.cause;
    revisions.push_back(std::move(o));
  }
  json::object doc;
  doc["format"] = kFormat;
  doc["history_limit"] = h.limit();
  doc["revisions"] = std::move(revisions);
  return to_json_text(doc) + "\n";
}

std::optional<RoutingHistory> history_from_json(const std::string& text, unsigned limit, std::string& error) {
  auto doc = parse_json(text, error);
  if (!doc) return std::nullopt;
  const json::object* obj = doc->if_object();
  if (obj == nullptr) {
    error = "top level must be an object";
    return std::nullopt;
  }
  for (const auto& kv : *obj) {
    if (kv.key() != "format" && kv.key() != "history_limit" && kv.key() != "revisions") {
      error = "unknown field \"" + std::string(kv.key()) + "\"";
      return std::nullopt;
    }
  }
  const json::value* format = obj->if_contains("format");
  if (format == nullptr) {
    error = "missing field \"format\"";
    return std::nullopt;
  }
  // A newer canaryd may write a format this one cannot read; refusing beats misreading it.
  if (!format->is_int64() || format->get_int64() != kFormat) {
    error = "format: unsupported (expected " + std::to_string(kFormat) + ")";
    return std::nullopt;
  }
  // history_limit is informational (the config decides the bound), but it must still be well formed.
  const json::value* stored_limit = obj->if_contains("history_limit");
  if (stored_limit == nullptr) {
    error = "missing field \"history_limit\"";
    return std::nullopt;
  }
  const auto stored_limit_value = as_unsigned(*stored_limit);
  if (!stored_limit_value || *stored_limit_value == 0) {
    error = "history_limit: must be a positive integer";
    return std::nullopt;
  }
  const json::value* revisions_value = obj->if_contains("revisions");
  if (revisions_value == nullptr) {
    error = "missing field \"revisions\"";
    return std::nullopt;
  }
  const json::array* revisions = revisions_value->if_array();
  if (revisions == nullptr || revisions->empty()) {
    error = "revisions: must be a non-empty array";
    return std::nullopt;
  }

  std::vector<RoutingState> states;
  states.reserve(revisions->size());
  for (std::size_t i = 0; i < revisions->size(); ++i) {
    const std::string where = "revisions[" + std::to_string(i) + "]";
    auto state = revision_from_json((*revisions)[i], where, error);
    if (!state) return std::nullopt;
    if (!states.empty() && state->revision <= states.back().revision) {
      error = where + ".revision: must be greater than the one before (" + std::to_string(states.back().revision) +
              ")";
      return std::nullopt;
    }
    states.push_back(std::move(*state));
  }

  // Pushing through the history applies the current limit: a longer stored history keeps its newest.
  RoutingHistory history(std::move(states.front()), limit);
  for (std::size_t i = 1; i < states.size(); ++i) history.push(std::move(states[i]));
  return history;
}

StateStore::Loaded StateStore::load(unsigned limit) const {
  Loaded result;
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      result.kind = Loaded::Kind::Missing;
      return result;
    }
    result.kind = Loaded::Kind::Corrupt;
    result.error = "state file " + path_ + ": cannot open: " + errno_text(err);
    return result;
  }
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      result.kind = Loaded::Kind::Corrupt;
      result.error = "state file " + path_ + ": cannot read: " + errno_text(err);
      return result;
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxStateBytes) {
      ::close(fd);
      result.kind = Loaded::Kind::Corrupt;
      result.error = "state file " + path_ + ": larger than " + std::to_string(kMaxStateBytes) + " bytes";
      return result;
    }
  }
  ::close(fd);

  result.kind = Loaded::Kind::Corrupt;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    result.error = "state file " + path_ + ": empty";
    return result;
  }
  std::string error;
  auto history = history_from_json(text, limit, error);
  if (!history) {
    result.error = "state file " + path_ + ": " + error;
    return result;
  }
  result.kind = Loaded::Kind::Ok;
  result.history = std::move(history);
  return result;
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
    const std::string pid_text = name.substr(prefix.size());
    if (pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    // ESRCH: no such process, so nobody will rename this file any more.
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::error_code rm;
    if (fs::remove(entry.path(), rm)) ++removed;
  }
  return removed;
}

bool StateStore::save(const RoutingHistory& h, std::string& error) const {
  const std::string text = history_to_json(h);
  // Beside the target, so that rename() stays within one filesystem and is atomic; the pid keeps two
  // processes pointed at the same file (a mistake, but possible) from writing into each other's temp.
  const std::string tmp = path_ + ".tmp." + std::to_string(::getpid());
  const auto fail = [&](const std::string& what, int err, bool created) {
    if (created) ::unlink(tmp.c_str());
    error = "state file " + path_ + ": " + what + ": " + errno_text(err);
    return false;
  };

  const int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  // Nothing to unlink when open failed: whatever is at that path is not ours.
  if (fd < 0) return fail("cannot create " + tmp, errno, false);

  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return fail("cannot write " + tmp, err, true);
    }
    written += static_cast<std::size_t>(n);
  }
  // Data must be on disk before the rename makes it the state file, or a crash could leave an empty file.
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return fail("cannot fsync " + tmp, err, true);
  }
  if (::close(fd) != 0) return fail("cannot close " + tmp, errno, true);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return fail("cannot rename " + tmp, errno, true);

  // The rename itself lives in the directory; without this fsync a crash may bring back the old file.
  const auto slash = path_.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path_.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return fail("cannot open directory " + dir, errno, false);
  const int rc = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  // EINVAL: the filesystem cannot sync directories (some FUSE and network mounts); the rename is as
  // durable there as it can be. Any other failure means the change may not survive a crash, so it is
  // reported (the new file is in place, but the caller will not publish what may be lost).
  if (rc != 0 && err != EINVAL) return fail("cannot fsync directory " + dir, err, false);
  return true;
}

}  // namespace canaryd::weights
