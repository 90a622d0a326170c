// Unit tests of the state file: round trip and format, corrupt and torn files, size bound, atomic saves,
// temporary names and cleanup.
#include "weights/state_store.hpp"

#include <gtest/gtest.h>

#include "tests/config/noting_error.hpp"

#include "weights/json_text.hpp"

#include "tests/weights/test_support.hpp"
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace canaryd::weights {
namespace {

using test_support::at;
using test_support::LoadKind;
using test_support::view_of;
using test_support::sel;
using test_support::TempDir;

namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

RoutingHistory sample_history(unsigned limit = 10) {
  RoutingState s;
  s.revision = 1;
  s.stable = sel("version=v1");
  s.canary = sel("version=v2");
  s.canary_weight = 0;
  s.cause = "initial";
  s.time = at(0);
  RoutingHistory h(s, limit);
  s.revision = 2;
  s.canary_weight = 3333;
  s.cause = "ramp \"up\"\n to 33.33%";
  s.time = at(1);
  h.push(s);
  s.revision = 3;
  s.stable = sel("version in (v2,v2.1),tier!=db");
  s.canary.reset();
  s.canary_weight = 0;
  s.cause = "promote";
  s.time = at(2);
  h.push(s);
  return h;
}

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }
  std::string file(const std::string& name = "state.json") const { return dir_.path() + "/" + name; }

  /// Asserts a Corrupt load whose message names the file and the state.
  void expect_corrupt(const std::string& path, const std::string& why, const std::string& fragment = "") {
    const auto loaded = view_of(StateStore(path).load(10));
    EXPECT_EQ(loaded.kind, LoadKind::Corrupt) << why;
    EXPECT_FALSE(loaded.history) << why;
    EXPECT_NE(loaded.error.find(path), std::string::npos) << why << ": " << loaded.error;
    EXPECT_NE(loaded.error.find("state"), std::string::npos) << why << ": " << loaded.error;
    if (!fragment.empty()) {
      EXPECT_NE(loaded.error.find(fragment), std::string::npos) << why << ": " << loaded.error;
    }
  }

  TempDir dir_{"weights-state"};
};

TEST_F(StateStoreTest, RoundTripKeepsEveryField) {
  const auto h = sample_history();
  StateStore store(file());
  std::string error;
  ASSERT_TRUE(noting_error(store.save(h), error)) << error;
  const auto loaded = view_of(store.load(10));
  ASSERT_EQ(loaded.kind, LoadKind::Ok) << loaded.error;
  ASSERT_TRUE(loaded.history);
  EXPECT_EQ(*loaded.history, h);
}

TEST_F(StateStoreTest, JsonHasTheDocumentedShape) {
  const std::string text = history_to_json(sample_history());
  const auto doc = boost::json::parse(text);
  EXPECT_EQ(doc.at("format"), 1);
  EXPECT_EQ(doc.at("history_limit"), 10);
  const auto& revs = doc.at("revisions").as_array();
  ASSERT_EQ(revs.size(), 3u);
  EXPECT_EQ(revs[1].at("canary_weight_bp"), 3333);
  EXPECT_EQ(revs[1].at("stable"), "version=v1");
  EXPECT_EQ(revs[1].at("canary"), "version=v2");
  EXPECT_EQ(revs[1].at("time"), "2026-11-27T15:01:00Z");
  EXPECT_TRUE(revs[2].at("canary").is_null());
}

TEST_F(StateStoreTest, LoadKeepsTheNewestWhenTheLimitShrank) {
  StateStore store(file());
  std::string error;
  ASSERT_TRUE(noting_error(store.save(sample_history()), error)) << error;
  const auto loaded = view_of(store.load(2));
  ASSERT_EQ(loaded.kind, LoadKind::Ok) << loaded.error;
  ASSERT_EQ(loaded.history->revisions().size(), 2u);
  EXPECT_EQ(loaded.history->revisions().front().revision, 2u);
  EXPECT_EQ(loaded.history->limit(), 2u);
}

TEST_F(StateStoreTest, MissingFileIsMissing) {
  const auto loaded = view_of(StateStore(file("absent.json")).load(10));
  EXPECT_EQ(loaded.kind, LoadKind::Missing);
  EXPECT_FALSE(loaded.history);
}

TEST_F(StateStoreTest, EmptyFileIsCorrupt) {
  write_file(file(), "");
  expect_corrupt(file(), "empty", "empty");
}

TEST_F(StateStoreTest, DirectoryInsteadOfFileIsCorrupt) {
  fs::create_directory(file());
  expect_corrupt(file(), "directory");
}

TEST_F(StateStoreTest, TornFileIsCorruptAtEveryCut) {
  StateStore store(file());
  std::string error;
  ASSERT_TRUE(noting_error(store.save(sample_history()), error)) << error;
  const std::string full = read_file(file());
  ASSERT_GT(full.size(), 10u);
  // Every proper prefix that lacks the closing brace (a crash mid-write without our rename).
  for (std::size_t cut = 0; cut + 1 < full.size(); ++cut) {
    write_file(file(), full.substr(0, cut));
    expect_corrupt(file(), "cut at " + std::to_string(cut));
    if (HasFailure()) break;
  }
}

TEST_F(StateStoreTest, CorruptJsonIsCorrupt) {
  write_file(file(), R"({"format": 1, "history_limit": 10, "revisions": [}garbage)");
  expect_corrupt(file(), "garbage", "invalid JSON");
  write_file(file(), std::string("\0\1\2 binary", 10));
  expect_corrupt(file(), "binary");
  write_file(file(), R"({"format": 1} {"format": 1})");
  expect_corrupt(file(), "two documents");
}

TEST_F(StateStoreTest, WrongTypesAndInconsistenciesAreCorrupt) {
  const std::string rev1 =
      R"({"revision": 1, "time": "2026-11-27T15:00:00Z", "stable": "version=v1", "canary": "version=v2", "canary_weight_bp": 1000, "cause": "c"})";
  const auto doc = [](const std::string& revisions) {
    return R"({"format": 1, "history_limit": 10, "revisions": [)" + revisions + "]}";
  };
  // The baseline is valid, so each case below fails for its own reason only.
  write_file(file(), doc(rev1));
  ASSERT_EQ(view_of(StateStore(file()).load(10)).kind, LoadKind::Ok) << view_of(StateStore(file()).load(10)).error;

  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"([1, 2])", "top level"},
      {R"({"format": 2, "history_limit": 10, "revisions": [)" + rev1 + "]}", "format"},
      {R"({"format": "1", "history_limit": 10, "revisions": [)" + rev1 + "]}", "format"},
      {R"({"history_limit": 10, "revisions": [)" + rev1 + "]}", "format"},
      {R"({"format": 1, "history_limit": 0, "revisions": [)" + rev1 + "]}", "history_limit"},
      {R"({"format": 1, "history_limit": 10, "revisions": [)" + rev1 + R"(], "extra": true})", "extra"},
      {R"({"format": 1, "history_limit": 10, "revisions": {}})", "revisions"},
      {doc(""), "revisions"},
      {doc("3"), "revisions[0]"},
      {doc(R"({"revision": "1", "time": "2026-11-27T15:00:00Z", "stable": "version=v1", "canary": null, "canary_weight_bp": 0, "cause": ""})"),
       "revisions[0].revision"},
      {doc(R"({"revision": 0, "time": "2026-11-27T15:00:00Z", "stable": "version=v1", "canary": null, "canary_weight_bp": 0, "cause": ""})"),
       "revisions[0].revision"},
      {doc(R"({"revision": -1, "time": "2026-11-27T15:00:00Z", "stable": "version=v1", "canary": null, "canary_weight_bp": 0, "cause": ""})"),
       "revisions[0].revision"},
      {doc(R"({"revision": 1.5, "time": "2026-11-27T15:00:00Z", "stable": "version=v1", "canary": null, "canary_weight_bp": 0, "cause": ""})"),
       "revisions[0].revision"},
      {doc(R"({"revision": 1, "time": "yesterday", "stable": "version=v1", "canary": null, "canary_weight_bp": 0, "cause": ""})"),
       "revisions[0].time"},
      {doc(R"({"revision": 1, "time": 12, "stable": "version=v1", "canary": null, "canary_weight_bp": 0, "cause": ""})"),
       "revisions[0].time"},
      {doc(R"({"revision": 1, "time": "2026-11-27T15:00:00Z", "stable": {"version": "v1"}, "canary": null, "canary_weight_bp": 0, "cause": ""})"),
       "revisions[0].stable"},
      {doc(R"({"revision": 1, "time": "2026-11-27T15:00:00Z", "stable": "version in (v1", "canary": null, "canary_weight_bp": 0, "cause": ""})"),
       "revisions[0].stable"},
      {doc(R"({"revision": 1, "time": "2026-11-27T15:00:00Z", "stable": "version=v1", "canary": 7, "canary_weight_bp": 0, "cause": ""})"),
       "revisions[0].canary"},
      {doc(R"({"revision": 1, "time": "2026-11-27T15:00:00Z", "stable": "version=v1", "canary": "version=v2", "canary_weight_bp": 10001, "cause": ""})"),
       "revisions[0].canary_weight_bp"},
      {doc(R"({"revision": 1, "time": "2026-11-27T15:00:00Z", "stable": "version=v1", "canary": "version=v2", "canary_weight_bp": 10.5, "cause": ""})"),
       "revisions[0].canary_weight_bp"},
      {doc(R"({"revision": 1, "time": "2026-11-27T15:00:00Z", "stable": "version=v1", "canary": "version=v2", "canary_weight_bp": "10", "cause": ""})"),
       "revisions[0].canary_weight_bp"},
      {doc(R"({"revision": 1, "time": "2026-11-27T15:00:00Z", "stable": "version=v1", "canary": null, "canary_weight_bp": 500, "cause": ""})"),
       "revisions[0].canary_weight_bp"},
      {doc(R"({"revision": 1, "time": "2026-11-27T15:00:00Z", "stable": "version=v1", "canary": null, "canary_weight_bp": 0, "cause": null})"),
       "revisions[0].cause"},
      {doc(R"({"revision": 1, "time": "2026-11-27T15:00:00Z", "stable": "version=v1", "canary": null, "canary_weight_bp": 0})"),
       "cause"},
      {doc(R"({"revision": 1, "time": "2026-11-27T15:00:00Z", "stable": "version=v1", "canary": null, "canary_weight_bp": 0, "cause": "", "x": 1})"),
       "\"x\""},
      {doc(rev1 + "," + rev1), "revisions[1].revision"},
      {doc(R"({"revision": 5, "time": "2026-11-27T15:00:00Z", "stable": "version=v1", "canary": null, "canary_weight_bp": 0, "cause": ""},)" +
           rev1),
       "revisions[1].revision"},
  };
  for (const auto& [text, fragment] : cases) {
    write_file(file(), text);
    expect_corrupt(file(), text, fragment);
  }
}

// The abort flag (contract section 7) is kept by the state file (and the ConfigMap, which stores the
// same document); a file written before the flag existed loads as not aborted.
TEST_F(StateStoreTest, TheAbortFlagRoundTrips) {
  auto h = sample_history();
  RoutingState s = h.current();
  s.revision = 4;
  s.canary = sel("version=v3");
  s.aborted = true;
  h.push(s);
  const auto loaded = history_from_json(history_to_json(h), 10);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(*loaded, h);
  EXPECT_TRUE(loaded->current().aborted);
  const auto doc = boost::json::parse(history_to_json(h));
  EXPECT_EQ(doc.at("revisions").as_array()[3].at("aborted"), true);
  EXPECT_FALSE(doc.at("revisions").as_array()[2].as_object().contains("aborted"));
}

TEST_F(StateStoreTest, AFileWithoutTheAbortFlagLoadsAsNotAborted) {
  const std::string old =
      R"({"format":1,"history_limit":10,"revisions":[{"revision":1,"time":"2026-11-27T15:00:00Z",)"
      R"("stable":"version=v1","canary":"version=v2","canary_weight_bp":0,"cause":"initial"}]})";
  const auto loaded = history_from_json(old, 10);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_FALSE(loaded->current().aborted);
}

TEST_F(StateStoreTest, AnAbortFlagThatIsNotABooleanOrWithoutCanaryIsCorrupt) {
  const std::string head = R"({"format":1,"history_limit":10,"revisions":[{"revision":1,"time":"2026-11-27T15:00:00Z",)";
  EXPECT_FALSE(history_from_json(head + R"("stable":"version=v1","canary":"version=v2","canary_weight_bp":0,)"
                                        R"("cause":"x","aborted":"yes"}]})", 10).ok());
  EXPECT_FALSE(history_from_json(head + R"("stable":"version=v1","canary":null,"canary_weight_bp":0,)"
                                        R"("cause":"x","aborted":true}]})", 10).ok());
}

TEST_F(StateStoreTest, HistoryFromJsonReportsWithoutThePath) {
  std::string error;
  EXPECT_FALSE(noting_error(history_from_json("{", 10), error));
  EXPECT_NE(error.find("invalid JSON at offset 1"), std::string::npos) << error;
}

TEST_F(StateStoreTest, AnOversizedFileFromEarlierVersionsLoadsTrimmedAndIsWrittenSmall) {
  // Earlier versions bounded causes by the 64 KiB body only: 290 changes made a 17 MB file that they then
  // refused to load. Such a file loads now, cut to the size bound, and the next save writes it small.
  std::string text = R"({"format":1,"history_limit":1000,"revisions":[)";
  const std::string cause(60 * 1024, 'c');
  for (int r = 1; r <= 290; ++r) {
    if (r > 1) text += ',';
    text += R"({"revision":)" + std::to_string(r) +
            R"(,"time":"2026-11-27T15:00:00Z","stable":"version=v1","canary":"version=v2","canary_weight_bp":)" +
            std::to_string(r) + R"(,"cause":")" + cause + "\"}";
  }
  text += "]}\n";
  ASSERT_GT(text.size(), 17u * 1000 * 1000);
  write_file(file(), text);
  StateStore store(file());
  auto loaded = view_of(store.load(1000));
  ASSERT_EQ(loaded.kind, LoadKind::Ok) << loaded.error;
  EXPECT_EQ(loaded.history->current().revision, 290u);
  EXPECT_EQ(loaded.history->current().canary_weight, 290u);
  EXPECT_LE(loaded.history->json_bytes(), kMaxHistoryBytes);
  std::string error;
  ASSERT_TRUE(noting_error(store.save(*loaded.history), error)) << error;
  EXPECT_LE(fs::file_size(file()), kMaxHistoryBytes + 100);
  EXPECT_EQ(*view_of(store.load(1000)).history, *loaded.history);
}

TEST_F(StateStoreTest, WhatIsSavedStaysWithinTheBound) {
  RoutingState s = sample_history().current();
  RoutingHistory h(s, 1000);
  for (std::uint64_t r = 2; r <= 1000; ++r) {
    s.revision = r;
    s.cause = std::string(1024, '"');  // the worst for size: every byte escaped in the file
    h.push(s);
  }
  const std::string text = history_to_json(h);
  EXPECT_LE(text.size(), kMaxHistoryBytes + 100);
  // Inside a ConfigMap the whole text is one JSON string again: at most doubled, under 1 MiB.
  EXPECT_LT(to_json_text(boost::json::string(text)).size(), 1024u * 1024 - 4096);
  std::string error;
  ASSERT_TRUE(noting_error(StateStore(file()).save(h), error)) << error;
  EXPECT_EQ(*view_of(StateStore(file()).load(1000)).history, h);
}

TEST_F(StateStoreTest, SaveReplacesTheOldFileAndLeavesNoTemp) {
  StateStore store(file());
  std::string error;
  auto h = sample_history();
  ASSERT_TRUE(noting_error(store.save(h), error)) << error;
  h.set_limit(1);
  ASSERT_TRUE(noting_error(store.save(h), error)) << error;
  EXPECT_EQ(*view_of(store.load(1)).history, h);
  for (const auto& entry : fs::directory_iterator(dir_.path())) {
    EXPECT_EQ(entry.path().filename(), "state.json") << "left behind: " << entry.path();
  }
  struct stat st {};
  ASSERT_EQ(::stat(file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the state is the operator's alone";
}

TEST_F(StateStoreTest, FailedWriteLeavesTheOldFileIntact) {
  StateStore store(file());
  std::string error;
  ASSERT_TRUE(noting_error(store.save(sample_history()), error)) << error;
  const std::string before = read_file(file());

  RoutingHistory other(sample_history().current(), 1);
  error.clear();
  {
    const test_support::FileSizeLimit full_disk(16);
    EXPECT_FALSE(noting_error(store.save(other), error));
  }
  EXPECT_NE(error.find(file()), std::string::npos) << error;
  EXPECT_NE(error.find("cannot write"), std::string::npos) << error;
  EXPECT_EQ(read_file(file()), before);
  EXPECT_TRUE(test_support::names_starting_with(dir_.path(), "state.json.tmp.").empty()) << "the temp is removed";
}

TEST_F(StateStoreTest, SaveIntoAMissingDirectoryFails) {
  const std::string path = dir_.path() + "/no/such/dir/state.json";
  std::string error;
  EXPECT_FALSE(noting_error(StateStore(path).save(sample_history()), error));
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
}

TEST_F(StateStoreTest, FileBackendReportsAFailedSaveAsFailedWithTheStoresMessage) {
  const std::string path = dir_.path() + "/no/such/dir/state.json";
  FileStateBackend backend{StateStore(path)};
  const SaveResult saved = backend.save(sample_history());
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().kind, SaveError::Kind::Failed) << "a file has one writer: never a conflict";
  EXPECT_EQ(saved.error().message.rfind("state file " + path + ": cannot create ", 0), 0u) << saved.error().message;
  EXPECT_NE(saved.error().message.find("No such file or directory"), std::string::npos) << saved.error().message;
}

TEST_F(StateStoreTest, FileBackendSavesAndLoadsThroughTheStore) {
  FileStateBackend backend{StateStore(file())};
  const LoadedState before = backend.load(10);
  ASSERT_TRUE(before);
  EXPECT_FALSE(before->has_value()) << "nothing stored yet is no error";
  ASSERT_TRUE(backend.save(sample_history()));
  const LoadedState after = backend.load(10);
  ASSERT_TRUE(after && after->has_value());
  EXPECT_EQ(**after, sample_history());
}

TEST_F(StateStoreTest, RenameOntoADirectoryFailsAndRemovesTheTemp) {
  // rename(2) cannot replace a non-empty directory: the write succeeds, the rename fails.
  fs::create_directories(file() + "/occupied");
  std::string error;
  EXPECT_FALSE(noting_error(StateStore(file()).save(sample_history()), error));
  EXPECT_NE(error.find("rename"), std::string::npos) << error;
  EXPECT_TRUE(test_support::names_starting_with(dir_.path(), "state.json.tmp.").empty());
  EXPECT_TRUE(fs::is_directory(file() + "/occupied"));
}

TEST_F(StateStoreTest, RelativePathSyncsTheCurrentDirectory) {
  const auto cwd = fs::current_path();
  fs::current_path(dir_.path());
  std::string error;
  const bool saved = noting_error(StateStore("relative.json").save(sample_history()), error).ok();
  const auto loaded = view_of(StateStore("relative.json").load(10));
  fs::current_path(cwd);
  EXPECT_TRUE(saved) << error;
  EXPECT_EQ(loaded.kind, LoadKind::Ok) << loaded.error;
}

}  // namespace
}  // namespace canaryd::weights

namespace canaryd::weights {
namespace {

// Suffixes a test makes come up: each call takes the next; "" draws a random one as canaryd does.
std::vector<std::string>& planned_suffixes() {
  static std::vector<std::string> planned;
  return planned;
}

std::string next_planned_suffix() {
  auto& planned = planned_suffixes();
  if (planned.empty()) return ".tmp.0.0000000000000000";
  std::string next = planned.front();
  planned.erase(planned.begin());
  return next;
}

class StateStoreTempNameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    write_file(victim(), "must stay untouched\n");
  }
  std::string path() const { return dir_.path() + "/state.json"; }
  std::string victim() const { return dir_.path() + "/victim"; }
  void plant_symlink(const std::string& suffix) { fs::create_symlink(victim(), path() + suffix); }

  test_support::TempDir dir_{"weights-tmpname"};
};

TEST_F(StateStoreTempNameTest, ASymlinkAtTheOldPredictableNameIsNeverWrittenThrough) {
  // What earlier versions used: <state>.tmp.<pid>, O_CREAT|O_TRUNC without O_EXCL, so the write went to
  // the symlink's target.
  plant_symlink(".tmp." + std::to_string(::getpid()));
  std::string error;
  ASSERT_TRUE(noting_error(StateStore(path()).save(sample_history()), error)) << error;
  EXPECT_EQ(read_file(victim()), "must stay untouched\n");
  EXPECT_EQ(*view_of(StateStore(path()).load(10)).history, sample_history());
  EXPECT_TRUE(fs::is_symlink(path() + ".tmp." + std::to_string(::getpid()))) << "not ours to remove";
}

TEST_F(StateStoreTempNameTest, ATakenNameIsReplacedByAnother) {
  // The name comes up that someone planted a symlink (or a file) at: O_EXCL refuses it, another is drawn.
  const std::string taken = ".tmp." + std::to_string(::getpid()) + ".00000000deadbeef";
  plant_symlink(taken);
  write_file(path() + ".tmp.1.0123456789abcdef", "a planted file");
  planned_suffixes() = {taken, ".tmp.1.0123456789abcdef", ".tmp.2.fedcba9876543210"};
  std::string error;
  ASSERT_TRUE(noting_error(StateStore(path(), next_planned_suffix).save(sample_history()), error)) << error;
  EXPECT_TRUE(planned_suffixes().empty()) << "the third name was used";
  EXPECT_EQ(read_file(victim()), "must stay untouched\n");
  EXPECT_EQ(read_file(path() + ".tmp.1.0123456789abcdef"), "a planted file");
  EXPECT_EQ(*view_of(StateStore(path()).load(10)).history, sample_history());
}

TEST_F(StateStoreTempNameTest, WhenEveryNameIsTakenTheSaveFailsAndChangesNothing) {
  plant_symlink(".tmp.0.0000000000000000");
  planned_suffixes().clear();  // every draw is the planted name
  std::string error;
  EXPECT_FALSE(noting_error(StateStore(path(), next_planned_suffix).save(sample_history()), error));
  EXPECT_NE(error.find("cannot create"), std::string::npos) << error;
  EXPECT_NE(error.find("File exists"), std::string::npos) << error;
  EXPECT_EQ(read_file(victim()), "must stay untouched\n");
  EXPECT_FALSE(fs::exists(path()));
  EXPECT_TRUE(fs::is_symlink(path() + ".tmp.0.0000000000000000"));
}

TEST_F(StateStoreTempNameTest, RandomNamesDifferAndNoneIsLeftBehind) {
  StateStore store(path());
  std::string error;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(noting_error(store.save(sample_history()), error)) << error;
  EXPECT_TRUE(test_support::names_starting_with(dir_.path(), "state.json.tmp.").empty());
}

TEST(StateStoreTempFilesTest, TemporariesOfDeadProcessesAreRemovedAndLiveOnesKept) {
  test_support::TempDir dir{"weights-tmpfiles"};
  const std::string path = dir.path() + "/state.json";
  // A pid far above pid_max (4194304 at most on Linux) cannot run; our own pid does.
  const std::string dead_old_style = path + ".tmp.999999999";
  const std::string dead = path + ".tmp.999999998.0123456789abcdef";
  const std::string live = path + ".tmp." + std::to_string(::getpid()) + ".0123456789abcdef";
  const std::string other = dir.path() + "/other.json.tmp.999999999";
  const std::string not_a_temp = path + ".tmp.999999999.notours";
  for (const auto& f : {dead_old_style, dead, live, other, not_a_temp}) std::ofstream(f) << "partial";
  // A symlink at a dead process's name is not a temporary canaryd made: neither it nor its target goes.
  const std::string victim = dir.path() + "/victim";
  std::ofstream(victim) << "keep";
  const std::string planted = path + ".tmp.999999997.00000000deadbeef";
  std::filesystem::create_symlink(victim, planted);
  StateStore store(path);
  EXPECT_EQ(store.remove_stale_temporaries(), 2u);
  EXPECT_FALSE(std::filesystem::exists(dead_old_style));
  EXPECT_FALSE(std::filesystem::exists(dead));
  EXPECT_TRUE(std::filesystem::exists(live));
  EXPECT_TRUE(std::filesystem::exists(other));
  EXPECT_TRUE(std::filesystem::exists(not_a_temp));
  EXPECT_TRUE(std::filesystem::is_symlink(planted));
  EXPECT_EQ(read_file(victim), "keep");
}

}  // namespace
}  // namespace canaryd::weights
