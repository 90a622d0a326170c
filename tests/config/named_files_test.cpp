// Unit tests of the files `canaryd -t` checks: token file, state directory, kubeconfig, access log.
#include "config/named_files.hpp"

#include <filesystem>

#include "tests/config/temp_dir.hpp"

namespace canaryd::config {
namespace {

class NamedFilesTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    config_.source = "x.yaml";
    config_.state_file = (dir_ / "state.json").string();
  }

  std::string token(mode_t mode, const std::string& content = "t\n") { return file("token", content, mode); }

  Config config_;
};

TEST_F(NamedFilesTest, UsableFilesPassAndLeaveNothingBehind) {
  config_.control.token_file = token(0440);
  EXPECT_EQ(check_named_files(config_), std::vector<std::string>{});
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), std::filesystem::directory_iterator()), 1);
}

TEST_F(NamedFilesTest, TheTokenFileMustExistHoldATokenAndBePrivate) {
  config_.control.token_file = (dir_ / "missing").string();
  EXPECT_EQ(check_named_files(config_),
            std::vector<std::string>{"x.yaml: control.token_file: " + config_.control.token_file +
                                     ": No such file or directory"});
  config_.control.token_file = token(0600, "\n");
  EXPECT_EQ(check_named_files(config_),
            std::vector<std::string>{"x.yaml: control.token_file: " + config_.control.token_file + ": the file is empty"});
  config_.control.token_file = token(0644);
  EXPECT_EQ(check_named_files(config_), std::vector<std::string>{"x.yaml: control.token_file: " +
                                                                 config_.control.token_file +
                                                                 ": readable by everyone (mode 0644); chmod o-rw it"});
}

TEST_F(NamedFilesTest, TheStateDirectoryMustTakeANewFile) {
  config_.state_file = (dir_ / "no-such-dir" / "state.json").string();
  EXPECT_EQ(check_named_files(config_),
            std::vector<std::string>{"x.yaml: state_file: cannot create a file in " + (dir_ / "no-such-dir").string() +
                                     ": No such file or directory"});
  // With the state in a ConfigMap there is no directory to check.
  config_.state_configmap = "canaryd-state";
  EXPECT_EQ(check_named_files(config_), std::vector<std::string>{});
}

TEST_F(NamedFilesTest, TheAccessLogMustOpenForAppendingOrBeCreatable) {
  config_.access_log.path = (dir_ / "access.log").string();
  EXPECT_EQ(check_named_files(config_), std::vector<std::string>{});
  EXPECT_FALSE(std::filesystem::exists(config_.access_log.path)) << "-t created the access log";
  file("access.log", "", 0644);
  EXPECT_EQ(check_named_files(config_), std::vector<std::string>{});
  config_.access_log.path = (dir_ / "no-such-dir" / "access.log").string();
  EXPECT_EQ(check_named_files(config_),
            std::vector<std::string>{"x.yaml: access_log.path: cannot create a file in " +
                                     (dir_ / "no-such-dir").string() + ": No such file or directory"});
  config_.access_log.path = dir_.string();  // a directory
  EXPECT_EQ(check_named_files(config_),
            std::vector<std::string>{"x.yaml: access_log.path: cannot open " + dir_.string() + ": Is a directory"});
}

TEST_F(NamedFilesTest, AKubeconfigMustLoad) {
  config_.discovery = KubernetesDiscovery{};
  config_.discovery->kubeconfig = (dir_ / "kubeconfig").string();
  const auto errors = check_named_files(config_);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("x.yaml: discovery.kubernetes.kubeconfig: " + config_.discovery->kubeconfig + ": ", 0), 0u)
      << errors[0];
}

}  // namespace
}  // namespace canaryd::config
