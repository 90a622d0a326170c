// Helpers shared by the weights/ unit tests: selectors from text, fixed instants, temporary directories,
// completions run in place, a file-size limit that makes writes fail as on a full disk.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/selector.hpp"
#include "weights/routing_state.hpp"
#include "weights/state_backend.hpp"

namespace canaryd::weights::test_support {

/// A selector from its string form; a parse failure fails the test.
inline config::Selector sel(std::string_view text) {
  auto s = config::Selector::parse(text);
  EXPECT_TRUE(s) << text << ": " << (s ? std::string() : s.error().message);
  return s.value_or(config::Selector{});
}

/// What a load found, taken apart for assertions: nothing stored (Missing), a history (Ok), or an error
/// (Corrupt) with its message.
enum class LoadKind { Missing, Ok, Corrupt };
struct LoadView {
  LoadKind kind = LoadKind::Missing;
  std::optional<RoutingHistory> history;
  std::string error;
};
inline LoadView view_of(LoadedState loaded) {
  if (!loaded) return {LoadKind::Corrupt, std::nullopt, loaded.error().message};
  if (!*loaded) return {};
  return {LoadKind::Ok, std::move(*loaded), ""};
}
/// A load that found `history` (nullopt: nothing stored).
inline LoadedState loaded_state(std::optional<RoutingHistory> history) { return LoadedState(std::move(history)); }

/// A save's outcome as one comparable value.
enum class SaveOutcome { Saved, Conflict, Failed };
inline SaveOutcome outcome_of(const SaveResult& r) {
  if (r) return SaveOutcome::Saved;
  return r.error().kind == SaveError::Kind::Conflict ? SaveOutcome::Conflict : SaveOutcome::Failed;
}
inline std::string message_of(const SaveResult& r) { return r ? std::string() : r.error().message; }
/// The SaveResult that `outcome` names, with `message` for a failure.
inline SaveResult save_result(SaveOutcome outcome, std::string message = "") {
  if (outcome == SaveOutcome::Saved) return {};
  const auto kind = outcome == SaveOutcome::Conflict ? SaveError::Kind::Conflict : SaveError::Kind::Failed;
  return fail(SaveError{kind, std::move(message)});
}

/// A fixed instant (2026-11-27 15:MM:00Z), so tests never read the clock.
inline Clock::time_point at(int minute) {
  return Clock::time_point{std::chrono::sys_days{std::chrono::year{2026} / 11 / 27}} + std::chrono::hours{15} +
         std::chrono::minutes{minute};
}

/// A fresh directory under $CANARYD_TEST_TMP (or /tmp), removed with the object.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "weights") {
    const char* base = std::getenv("CANARYD_TEST_TMP");
    const std::string root = base != nullptr && *base != '\0' ? base : "/tmp";
    std::filesystem::create_directories(root);
    std::string pattern = root + "/" + std::string(prefix) + "-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// The result of an asynchronous call whose completion runs before the call returns, as it does over the
/// state file: `call` gets the completion to pass on. A completion still pending fails the test.
/// (value() throws when it did not, which fails the test too: the result may have no default.)
template <class Out, class Call>
Out completed_at_once(Call&& call) {
  std::optional<Out> out;
  std::forward<Call>(call)([&out](Out r) { out = std::move(r); });
  EXPECT_TRUE(out.has_value()) << "the call did not complete before it returned";
  return std::move(out).value();
}

/// While it lives, files this process writes cannot grow beyond `bytes` (RLIMIT_FSIZE): a write past it
/// fails with EFBIG, as on a full disk, whoever runs the test (root ignores permissions, not this).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    // The default action of SIGXFSZ, sent with EFBIG, is to dump core.
    saved_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    rlimit lower = saved_;
    lower.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &lower);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, saved_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  sighandler_t saved_handler_ = SIG_DFL;
};

/// The names in `dir` that begin with `prefix` (temporary files left behind, say).
inline std::vector<std::string> names_starting_with(const std::string& dir, std::string_view prefix) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(prefix)) out.push_back(name);
  }
  return out;
}

}  // namespace canaryd::weights::test_support
