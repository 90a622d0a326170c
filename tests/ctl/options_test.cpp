// Unit tests of canaryctl's command line: commands, options anywhere, usage errors, the default cause.
#include "ctl/options.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace canaryd::ctl {
namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

Invocation parse_ok(const std::vector<std::string>& args) {
  auto r = parse_args(args);
  if (!r) {
    ADD_FAILURE() << "usage error: " << r.error().message;
    return {};
  }
  return r.value();
}

Invocation parse_ok(const std::string& line) { return parse_ok(split(line)); }

struct ValidCase {
  std::string line;
  Command command;
};

class ParseArgsValidTest : public ::testing::TestWithParam<ValidCase> {};

TEST_P(ParseArgsValidTest, RecognisesTheCommand) {
  EXPECT_EQ(parse_ok(GetParam().line).command, GetParam().command) << GetParam().line;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseArgsValidTest,
    ::testing::Values(ValidCase{"status", Command::Status}, ValidCase{"history", Command::History},
                      ValidCase{"weight 20", Command::Weight}, ValidCase{"weight 33.33", Command::Weight},
                      ValidCase{"weight 200", Command::Weight}, ValidCase{"weight -5", Command::Weight},
                      ValidCase{"promote", Command::Promote}, ValidCase{"rollback", Command::Rollback},
                      ValidCase{"undo", Command::Undo}, ValidCase{"undo --to-revision 3", Command::Undo},
                      ValidCase{"undo --to-revision=3", Command::Undo},
                      ValidCase{"canary version=v3", Command::CanarySet},
                      ValidCase{"canary version=v3 --weight 5", Command::CanarySet},
                      ValidCase{"canary --weight=5 version=v3", Command::CanarySet},
                      ValidCase{"canary --remove", Command::CanaryRemove},
                      ValidCase{"-s http://10.0.0.1:9901 status", Command::Status},
                      ValidCase{"--server=http://h:1 -o json status", Command::Status},
                      ValidCase{"-ojson history", Command::History},
                      ValidCase{"status -o table", Command::Status},
                      ValidCase{"--token-file /tmp/t promote --cause why", Command::Promote},
                      ValidCase{"-h", Command::Help}, ValidCase{"--help", Command::Help},
                      ValidCase{"help", Command::Help}, ValidCase{"frobnicate --help", Command::Help},
                      ValidCase{"--version", Command::Version}));

class ParseArgsUsageErrorTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ParseArgsUsageErrorTest, IsAUsageError) {
  auto r = parse_args(split(GetParam()));
  ASSERT_TRUE(!r.ok()) << GetParam();
  EXPECT_FALSE(r.error().message.empty());
}

INSTANTIATE_TEST_SUITE_P(Table, ParseArgsUsageErrorTest,
                         ::testing::Values("", "frobnicate", "status extra", "history now", "weight",
                                           "weight 10 20", "weight abc", "weight 10%", "weight 1e2", "weight .",
                                           "weight --", "promote now", "rollback 1", "undo 3",
                                           "undo --to-revision", "undo --to-revision 0",
                                           "undo --to-revision -1", "undo --to-revision x",
                                           "undo --to-revision 1.5", "undo --to-revision 99999999999999999999",
                                           "canary", "canary a b", "canary --remove version=v3",
                                           "canary --remove --weight 5", "canary v3 --weight",
                                           "canary v3 --weight abc", "status --cause why",
                                           "history --cause why", "weight 20 --to-revision 2",
                                           "promote --weight 5", "--frobnicate status", "-x status",
                                           "-o yaml status", "-o", "status -s", "-s a -s b status",
                                           "weight 10 --cause a --cause b", "--token-file= status",
                                           "canary --remove=yes", "--help=me status"));

TEST(ParseArgsTest, KeepsThePercentAsTyped) {
  EXPECT_EQ(parse_ok("weight 20").percent, "20");
  EXPECT_EQ(parse_ok("weight 33.33").percent, "33.33");
  EXPECT_EQ(parse_ok("weight 200").percent, "200");
  EXPECT_EQ(parse_ok("weight -5").percent, "-5");
  EXPECT_EQ(parse_ok("weight 007.50").percent, "7.50");
  EXPECT_EQ(parse_ok("canary version=v3 --weight .5").percent, "0.5");
  EXPECT_EQ(parse_ok("canary version=v3").percent, "");
}

TEST(ParseArgsTest, ReadsConnectionOptionsAnywhere) {
  auto inv = parse_ok("-s http://h:1 --token-file /t status -o json");
  EXPECT_EQ(inv.server, "http://h:1");
  EXPECT_EQ(inv.token_file, "/t");
  EXPECT_EQ(inv.output, OutputFormat::Json);
  EXPECT_EQ(parse_ok("status").output, OutputFormat::Table);
  EXPECT_FALSE(parse_ok("status").server.has_value());
}

TEST(ParseArgsTest, ReadsCommandOptions) {
  EXPECT_EQ(parse_ok("undo --to-revision 12").to_revision, 12u);
  EXPECT_FALSE(parse_ok("undo").to_revision.has_value());
  EXPECT_EQ(parse_ok("canary name!=x").selector, "name!=x");
  EXPECT_EQ(parse_ok(std::vector<std::string>{"canary", "version in (v3,v4)"}).selector, "version in (v3,v4)");
  EXPECT_EQ(parse_ok(std::vector<std::string>{"weight", "5", "--cause", "slow start"}).cause, "slow start");
}

TEST(ParseArgsTest, IfRevisionOnEveryChange) {
  for (const char* line : {"weight 5 --if-revision 7", "promote --if-revision 7", "rollback --if-revision=7",
                           "undo --if-revision 7", "canary version=v3 --if-revision 7", "canary --remove --if-revision 7"}) {
    EXPECT_EQ(parse_ok(line).if_revision, 7u) << line;
  }
  EXPECT_FALSE(parse_ok("weight 5").if_revision.has_value());
  for (const char* line : {"status --if-revision 7", "history --if-revision 7", "weight 5 --if-revision 0",
                           "weight 5 --if-revision -1", "weight 5 --if-revision x", "weight 5 --if-revision"}) {
    EXPECT_TRUE(!(parse_args(split(line))).ok()) << line;
  }
}

TEST(ParseArgsTest, DoubleDashEndsOptions) {
  auto inv = parse_ok(std::vector<std::string>{"canary", "--", "-odd"});
  EXPECT_EQ(inv.command, Command::CanarySet);
  EXPECT_EQ(inv.selector, "-odd");
}

TEST(DefaultCauseTest, IsTheCommandLineWithoutConnectionOptions) {
  EXPECT_EQ(parse_ok("weight 20").default_cause, "canaryctl weight 20");
  EXPECT_EQ(parse_ok("-s http://h:1 --token-file /t -o json weight 20").default_cause, "canaryctl weight 20");
  EXPECT_EQ(parse_ok("--server=http://h:1 -ojson promote").default_cause, "canaryctl promote");
  EXPECT_EQ(parse_ok("undo --to-revision 3").default_cause, "canaryctl undo --to-revision 3");
  EXPECT_EQ(parse_ok("canary version=v3 --weight=5").default_cause, "canaryctl canary version=v3 --weight=5");
  EXPECT_EQ(parse_ok("canary --remove").default_cause, "canaryctl canary --remove");
}

TEST(DefaultCauseTest, QuotesWordsAShellWouldSplit) {
  EXPECT_EQ(parse_ok(std::vector<std::string>{"canary", "version in (v3)"}).default_cause,
            "canaryctl canary 'version in (v3)'");
  EXPECT_EQ(parse_ok("canary version!=v1").default_cause, "canaryctl canary 'version!=v1'");
}

TEST(DefaultCauseTest, IsAlwaysACauseTheServerAccepts) {
  // A selector with a newline or an escape sequence is escaped visibly, not sent raw.
  EXPECT_EQ(parse_ok(std::vector<std::string>{"canary", "a\nb\x1b[2J"}).default_cause,
            "canaryctl canary 'a\\nb\\x1b[2J'");
  EXPECT_EQ(parse_ok(std::vector<std::string>{"canary", "bad\xFF"}).default_cause, "canaryctl canary 'bad\\xff'");
  // Cut at a character boundary to 1,024 bytes: the first dash ends at byte 1,024, the second does not
  // fit whole (nor does the closing quote).
  const std::string long_word = std::string(1024 - std::string("canaryctl canary '").size() - 3, 'x') +
                                "\xE2\x80\x94\xE2\x80\x94";
  const auto cause = parse_ok(std::vector<std::string>{"canary", long_word}).default_cause;
  EXPECT_EQ(cause.size(), 1024u);
  EXPECT_EQ(cause.substr(cause.size() - 3), "\xE2\x80\x94");
}

TEST(DefaultCauseTest, ExplicitCauseWins) {
  auto inv = parse_ok(std::vector<std::string>{"weight", "20", "--cause", "ticket 42"});
  EXPECT_EQ(inv.effective_cause(), "ticket 42");
  EXPECT_EQ(parse_ok("weight 20").effective_cause(), "canaryctl weight 20");
}

TEST(ParseArgsTest, UsageErrorsSayWhatIsWrong) {
  auto message = [](const std::string& line) {
    auto r = parse_args(split(line));
    return !r.ok() ? r.error().message : std::string("<valid>");
  };
  EXPECT_EQ(message("frobnicate"), "unknown command \"frobnicate\"");
  EXPECT_EQ(message(""), "missing command");
  EXPECT_EQ(message("weight abc"), "PERCENT must be a number, not \"abc\"");
  EXPECT_EQ(message("--frobnicate status"), "unknown option --frobnicate");
  EXPECT_EQ(message("status --cause x"), "option --cause does not apply to status");
  EXPECT_EQ(message("undo --to-revision 0"), "--to-revision must be a positive integer, not \"0\"");
  EXPECT_EQ(message("status extra"), "status takes no argument, got extra \"extra\"");
}

}  // namespace
}  // namespace canaryd::ctl
