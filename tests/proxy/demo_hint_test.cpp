// The demo's hints: canaryctl named so that the printed line runs from where canaryd was started (its
// path beside canaryd, or plain `canaryctl` when PATH finds that very file), and the install line.
#include "proxy/control/demo_hint.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace canaryd::proxy {
namespace {
namespace fs = std::filesystem;

// A fresh directory under $CANARYD_TEST_TMP (or /tmp) holding an executable build/canaryctl and a
// non-executable other/canaryctl; removed with the object.
class Tree {
 public:
  Tree() {
    const char* base = std::getenv("CANARYD_TEST_TMP");
    const std::string parent = base != nullptr && *base != '\0' ? base : "/tmp";
    fs::create_directories(parent);
    std::string pattern = parent + "/demo-hint-XXXXXX";
    EXPECT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = fs::canonical(pattern);
    make(root_ / "build" / "canaryctl", fs::perms::owner_all);
    make(root_ / "other" / "canaryctl", fs::perms::owner_read | fs::perms::owner_write);
    make(root_ / "second" / "canaryctl", fs::perms::owner_all);
  }
  ~Tree() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  const fs::path& root() const { return root_; }

 private:
  static void make(const fs::path& file, fs::perms perms) {
    fs::create_directories(file.parent_path());
    std::ofstream(file) << "#!/bin/sh\n";
    fs::permissions(file, perms);
  }
  fs::path root_;
};

TEST(DemoHintTest, CanaryctlBelowTheWorkingDirectoryIsDotRelative) {
  Tree t;
  EXPECT_EQ(canaryctl_command(t.root() / "build" / "canaryctl", t.root(), "/usr/bin:/bin"), "./build/canaryctl");
  EXPECT_EQ(canaryctl_command(t.root() / "build" / "canaryctl", t.root() / "build", "/usr/bin"), "./canaryctl");
}

TEST(DemoHintTest, CanaryctlElsewhereIsAbsolute) {
  Tree t;
  const fs::path ctl = t.root() / "build" / "canaryctl";
  EXPECT_EQ(canaryctl_command(ctl, t.root() / "other", "/usr/bin"), ctl.string());
  EXPECT_EQ(canaryctl_command(ctl, "/", "/usr/bin"), ctl.string());
}

TEST(DemoHintTest, PlainCanaryctlOnlyWhenPathFindsThatFileFirst) {
  Tree t;
  const fs::path ctl = t.root() / "build" / "canaryctl";
  const std::string build = (t.root() / "build").string();
  const std::string second = (t.root() / "second").string();
  const std::string other = (t.root() / "other").string();
  EXPECT_EQ(canaryctl_command(ctl, "/", "/nonexistent:" + build), "canaryctl");
  // A non-executable canaryctl earlier on PATH is skipped, as a shell skips it.
  EXPECT_EQ(canaryctl_command(ctl, "/", other + ":" + build), "canaryctl");
  // Another canaryctl found first: the path, not the name (the name would run the other one).
  EXPECT_EQ(canaryctl_command(ctl, "/", second + ":" + build), ctl.string());
  // An empty PATH entry is the working directory.
  EXPECT_EQ(canaryctl_command(ctl, t.root() / "build", ":/usr/bin"), "canaryctl");
}

TEST(DemoHintTest, PathsAShellWouldSplitAreQuoted) {
  Tree t;
  const fs::path dir = t.root() / "my dir's";
  fs::create_directories(dir);
  EXPECT_EQ(canaryctl_command(dir / "canaryctl", t.root(), ""), "'./my dir'\\''s/canaryctl'");
}

TEST(DemoHintTest, HintsNameCanaryctlAsGivenAndTheInstallLineOnlyWithABuildTree) {
  const std::string hint = demo_hint("./build/canaryctl", "build");
  EXPECT_NE(hint.find("\n  ./build/canaryctl status\n"), std::string::npos) << hint;
  EXPECT_NE(hint.find("\n  ./build/canaryctl weight 25\n"), std::string::npos) << hint;
  EXPECT_NE(hint.find("in another terminal in this directory"), std::string::npos) << hint;
  EXPECT_NE(hint.find("cmake --install build "), std::string::npos) << hint;
  EXPECT_EQ(hint.find("\n  canaryctl"), std::string::npos) << hint;

  const std::string installed = demo_hint("canaryctl", "");
  EXPECT_NE(installed.find("\n  canaryctl status\n"), std::string::npos) << installed;
  EXPECT_EQ(installed.find("cmake --install"), std::string::npos) << installed;
  EXPECT_EQ(installed.find("in this directory"), std::string::npos) << installed;
}

}  // namespace
}  // namespace canaryd::proxy
