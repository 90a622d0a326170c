// Unit tests of the token-file reader: trimming, the mode rule, symlinks, and the reasons for refusing.
#include "config/token_file.hpp"

#include <filesystem>

#include "tests/config/temp_dir.hpp"
#include "tests/config/noting_error.hpp"

namespace canaryd::config {
namespace {

using TokenFileTest = TempDirTest;

TEST_F(TokenFileTest, PrivateAndGroupReadableFilesAreReadTrimmed) {
  EXPECT_EQ(read_token_file(file("a", "  s3cret\n", 0600), TokenFileAccess::Private).value_or(""), "s3cret");
  // A Kubernetes Secret mounted 0440 with fsGroup: readable by the group, which is fine.
  EXPECT_EQ(read_token_file(file("b", "s3cret", 0440), TokenFileAccess::Private).value_or(""), "s3cret");
  EXPECT_EQ(read_token_file(file("c", "s3cret", 0660), TokenFileAccess::Private).value_or(""), "s3cret");
}

TEST_F(TokenFileTest, FilesOthersCanReadOrWriteAreRefused) {
  std::string error;
  EXPECT_FALSE(noting_error(read_token_file(file("a", "t", 0644), TokenFileAccess::Private), error));
  EXPECT_EQ(error, "readable by everyone (mode 0644); chmod o-rw it");
  EXPECT_FALSE(noting_error(read_token_file(file("b", "t", 0602), TokenFileAccess::Private), error));
  EXPECT_EQ(error, "writable by everyone (mode 0602); chmod o-rw it");
  EXPECT_FALSE(noting_error(read_token_file(file("c", "t", 0606), TokenFileAccess::Private), error));
  EXPECT_EQ(error, "readable and writable by everyone (mode 0606); chmod o-rw it");
  // canaryctl's own file: any mode.
  EXPECT_EQ(read_token_file(dir_ / "a", TokenFileAccess::AnyMode).value_or(""), "t");
}

TEST_F(TokenFileTest, ASymlinkIsJudgedByTheFileItReaches) {
  std::string error;
  const auto good = file("good", "t1", 0400);
  std::filesystem::create_symlink(good, dir_ / "link-good");
  EXPECT_EQ(noting_error(read_token_file(dir_ / "link-good", TokenFileAccess::Private), error).value_or(""), "t1") << error;
  const auto bad = file("bad", "t2", 0604);
  std::filesystem::create_symlink(bad, dir_ / "link-bad");
  EXPECT_FALSE(noting_error(read_token_file(dir_ / "link-bad", TokenFileAccess::Private), error));
  EXPECT_EQ(error, "readable by everyone (mode 0604); chmod o-rw it");
}

TEST_F(TokenFileTest, EmptyMissingAndNonFilesAreRefusedWithTheReason) {
  std::string error;
  EXPECT_FALSE(noting_error(read_token_file(file("empty", " \n\t\n", 0600), TokenFileAccess::AnyMode), error));
  EXPECT_EQ(error, "the file is empty");
  EXPECT_FALSE(noting_error(read_token_file(dir_ / "missing", TokenFileAccess::AnyMode), error));
  EXPECT_EQ(error, "No such file or directory");
  EXPECT_FALSE(noting_error(read_token_file(dir_, TokenFileAccess::AnyMode), error));
  EXPECT_EQ(error, "not a regular file");
}

TEST(TrimTokenTest, StripsSurroundingWhitespaceOnly) {
  EXPECT_EQ(trim_token(" \t a b \r\n"), "a b");
  EXPECT_EQ(trim_token("\n"), "");
}

}  // namespace
}  // namespace canaryd::config
