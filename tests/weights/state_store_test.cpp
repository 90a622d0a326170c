#include "weights/state_store.hpp"

#include <gtest/gtest.h>

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
    const auto loaded = StateStore(path).load(10);
    EXPECT_EQ(loaded.kind, StateStore::Loaded::Kind::Corrupt) << why;
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
  ASSERT_TRUE(store.save(h, error)) << error;
  const auto loaded = store.load(10);
  ASSERT_EQ(loaded.kind, StateStore::Loaded::Kind::Ok) << loaded.error;
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
  ASSERT_TRUE(store.save(sample_history(), error)) << error;
  const auto loaded = store.load(2);
  ASSERT_EQ(loaded.kind, StateStore::Loaded::Kind::Ok) << loaded.error;
  ASSERT_EQ(loaded.history->revisions().size(), 2u);
  EXPECT_EQ(loaded.history->revisions().front().revision, 2u);
  EXPECT_EQ(loaded.history->limit(), 2u);
}

TEST_F(StateStoreTest, MissingFileIsMissing) {
  const auto loaded = StateStore(file("absent.json")).load(10);
  EXPECT_EQ(loaded.kind, StateStore::Loaded::Kind::Missing);
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
  ASSERT_TRUE(store.save(sample_history(), error)) << error;
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
  ASSERT_EQ(StateStore(file()).load(10).kind, StateStore::Loaded::Kind::Ok) << StateStore(file()).load(10).error;

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

TEST_F(StateStoreTest, HistoryFromJsonReportsWithoutThePath) {
  std::string error;
  EXPECT_FALSE(history_from_json("{", 10, error));
  EXPECT_NE(error.find("invalid JSON at offset 1"), std::string::npos) << error;
}

TEST_F(StateStoreTest, SaveReplacesTheOldFileAndLeavesNoTemp) {
  StateStore store(file());
  std::string error;
  auto h = sample_history();
  ASSERT_TRUE(store.save(h, error)) << error;
  h.set_limit(1);
  ASSERT_TRUE(store.save(h, error)) << error;
  EXPECT_EQ(*store.load(1).history, h);
  for (const auto& entry : fs::directory_iterator(dir_.path())) {
    EXPECT_EQ(entry.path().filename(), "state.json") << "left behind: " << entry.path();
  }
  struct stat st {};
  ASSERT_EQ(::stat(file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(StateStoreTest, FailedWriteLeavesTheOldFileIntact) {
  StateStore store(file());
  std::string error;
  ASSERT_TRUE(store.save(sample_history(), error)) << error;
  const std::string before = read_file(file());

  // Root ignores permissions, so block the temp file with a directory of that name.
  const std::string tmp = file() + ".tmp." + std::to_string(::getpid());
  ASSERT_TRUE(fs::create_directory(tmp));
  RoutingHistory other(sample_history().current(), 1);
  error.clear();
  EXPECT_FALSE(store.save(other, error));
  EXPECT_NE(error.find(file()), std::string::npos) << error;
  EXPECT_NE(error.find("state"), std::string::npos) << error;
  EXPECT_EQ(read_file(file()), before);
  EXPECT_TRUE(fs::is_directory(tmp)) << "save must not remove what it did not create";
}

TEST_F(StateStoreTest, SaveIntoAMissingDirectoryFails) {
  const std::string path = dir_.path() + "/no/such/dir/state.json";
  std::string error;
  EXPECT_FALSE(StateStore(path).save(sample_history(), error));
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_NE(error.find("No such file or directory"), std::string::npos) << error;
}

TEST_F(StateStoreTest, RenameOntoADirectoryFailsAndRemovesTheTemp) {
  // rename(2) cannot replace a non-empty directory: the write succeeds, the rename fails.
  fs::create_directories(file() + "/occupied");
  std::string error;
  EXPECT_FALSE(StateStore(file()).save(sample_history(), error));
  EXPECT_NE(error.find("rename"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(file() + ".tmp." + std::to_string(::getpid())));
  EXPECT_TRUE(fs::is_directory(file() + "/occupied"));
}

TEST_F(StateStoreTest, RelativePathSyncsTheCurrentDirectory) {
  const auto cwd = fs::current_path();
  fs::current_path(dir_.path());
  std::string error;
  const bool saved = StateStore("relative.json").save(sample_history(), error);
  const auto loaded = StateStore("relative.json").load(10);
  fs::current_path(cwd);
  EXPECT_TRUE(saved) << error;
  EXPECT_EQ(loaded.kind, StateStore::Loaded::Kind::Ok) << loaded.error;
}

}  // namespace
}  // namespace canaryd::weights

namespace canaryd::weights {
namespace {

TEST(StateStoreTempFilesTest, TemporariesOfDeadProcessesAreRemovedAndLiveOnesKept) {
  test_support::TempDir dir{"weights-tmpfiles"};
  const std::string path = dir.path() + "/state.json";
  // A pid far above pid_max (4194304 at most on Linux) cannot run; our own pid does.
  const std::string dead = path + ".tmp.999999999";
  const std::string live = path + ".tmp." + std::to_string(::getpid());
  const std::string other = dir.path() + "/other.json.tmp.999999999";
  for (const auto& f : {dead, live, other}) std::ofstream(f) << "partial";
  StateStore store(path);
  EXPECT_EQ(store.remove_stale_temporaries(), 1u);
  EXPECT_FALSE(std::filesystem::exists(dead));
  EXPECT_TRUE(std::filesystem::exists(live));
  EXPECT_TRUE(std::filesystem::exists(other));
}

}  // namespace
}  // namespace canaryd::weights
