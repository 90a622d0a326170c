// Unit tests of label selectors: every operator parsed, printed canonically and matched; syntax errors;
// conjunction, satisfiability and disjointness.
#include "config/selector.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/config/noting_error.hpp"

namespace canaryd::config {
namespace {

Selector must_parse(std::string_view text) {
  std::string error;
  auto s = noting_error(Selector::parse(text), error);
  EXPECT_TRUE(s.ok()) << text << ": " << error;
  return s.value_or(Selector());
}

std::string parse_error(std::string_view text) {
  std::string error;
  auto s = noting_error(Selector::parse(text), error);
  EXPECT_FALSE(s.ok()) << text << " parsed as " << (s ? s->to_string() : "");
  return error;
}

bool disjoint(std::string_view a, std::string_view b) {
  const bool ab = must_parse(a).provably_disjoint(must_parse(b));
  const bool ba = must_parse(b).provably_disjoint(must_parse(a));
  EXPECT_EQ(ab, ba) << "provably_disjoint must be symmetric: " << a << " vs " << b;
  return ab;
}

TEST(SelectorTest, EqualsParsesPrintsAndMatches) {
  const Selector s = must_parse("version=v1");
  ASSERT_EQ(s.requirements().size(), 1u);
  EXPECT_EQ(s.requirements()[0].op, Requirement::Op::Equals);
  EXPECT_EQ(s.to_string(), "version=v1");
  EXPECT_TRUE(s.matches({{"version", "v1"}}));
  EXPECT_FALSE(s.matches({{"version", "v2"}}));
  EXPECT_FALSE(s.matches({}));
}

TEST(SelectorTest, DoubleEqualsIsTheSameAsEquals) {
  EXPECT_EQ(must_parse("version==v1"), must_parse("version=v1"));
  EXPECT_EQ(must_parse("version==v1").to_string(), "version=v1");
}

TEST(SelectorTest, NotEqualsParsesPrintsAndMatches) {
  const Selector s = must_parse("version!=v2");
  EXPECT_EQ(s.requirements()[0].op, Requirement::Op::NotEquals);
  EXPECT_EQ(s.to_string(), "version!=v2");
  EXPECT_TRUE(s.matches({{"version", "v1"}}));
  EXPECT_FALSE(s.matches({{"version", "v2"}}));
}

TEST(SelectorTest, NotEqualsMatchesWhenKeyAbsent) {
  EXPECT_TRUE(must_parse("version!=v2").matches({{"name", "nginx"}}));
}

TEST(SelectorTest, InParsesPrintsAndMatches) {
  const Selector s = must_parse("version in (v1,v1.1)");
  EXPECT_EQ(s.requirements()[0].op, Requirement::Op::In);
  EXPECT_EQ(s.to_string(), "version in (v1,v1.1)");
  EXPECT_TRUE(s.matches({{"version", "v1.1"}}));
  EXPECT_FALSE(s.matches({{"version", "v2"}}));
  EXPECT_FALSE(s.matches({}));
}

TEST(SelectorTest, InValuesAreSortedAndUnique) {
  EXPECT_EQ(must_parse("version in (v2, v1 ,v2)").to_string(), "version in (v1,v2)");
}

TEST(SelectorTest, NotInParsesPrintsAndMatches) {
  const Selector s = must_parse("version notin (v2)");
  EXPECT_EQ(s.requirements()[0].op, Requirement::Op::NotIn);
  EXPECT_EQ(s.to_string(), "version notin (v2)");
  EXPECT_TRUE(s.matches({{"version", "v1"}}));
  EXPECT_FALSE(s.matches({{"version", "v2"}}));
}

TEST(SelectorTest, NotInMatchesWhenKeyAbsent) { EXPECT_TRUE(must_parse("version notin (v2)").matches({})); }

TEST(SelectorTest, ExistsParsesPrintsAndMatches) {
  const Selector s = must_parse("version");
  EXPECT_EQ(s.requirements()[0].op, Requirement::Op::Exists);
  EXPECT_EQ(s.to_string(), "version");
  EXPECT_TRUE(s.matches({{"version", ""}}));
  EXPECT_FALSE(s.matches({{"name", "nginx"}}));
}

TEST(SelectorTest, DoesNotExistParsesPrintsAndMatches) {
  const Selector s = must_parse("!version");
  EXPECT_EQ(s.requirements()[0].op, Requirement::Op::DoesNotExist);
  EXPECT_EQ(s.to_string(), "!version");
  EXPECT_TRUE(s.matches({{"name", "nginx"}}));
  EXPECT_FALSE(s.matches({{"version", "v1"}}));
}

TEST(SelectorTest, EmptyValueAfterEqualsMatchesEmptyLabel) {
  const Selector s = must_parse("version=");
  EXPECT_EQ(s.to_string(), "version=");
  EXPECT_TRUE(s.matches({{"version", ""}}));
  EXPECT_FALSE(s.matches({}));
}

TEST(SelectorTest, CommaJoinedRequirementsAllMustHold) {
  const Selector s = must_parse("name=nginx,version!=v2");
  EXPECT_TRUE(s.matches({{"name", "nginx"}, {"version", "v1"}}));
  EXPECT_TRUE(s.matches({{"name", "nginx"}}));
  EXPECT_FALSE(s.matches({{"name", "nginx"}, {"version", "v2"}}));
  EXPECT_FALSE(s.matches({{"name", "apache"}}));
}

TEST(SelectorTest, CanonicalOrderIsByKeyThenOperator) {
  EXPECT_EQ(must_parse("version=v1,name=nginx").to_string(), "name=nginx,version=v1");
  EXPECT_EQ(must_parse("!zone, app in (b,a), app!=c, app=a").to_string(), "app=a,app!=c,app in (a,b),!zone");
}

TEST(SelectorTest, WhitespaceAroundTokensIsTolerated) {
  EXPECT_EQ(must_parse("  name = nginx ,  version   notin(  v2 , v3 )  , ! zone ").to_string(),
            "name=nginx,version notin (v2,v3),!zone");
  EXPECT_EQ(must_parse("a != b").to_string(), "a!=b");
}

TEST(SelectorTest, IdenticalRequirementsAreDeduplicated) {
  EXPECT_EQ(must_parse("a=b,a==b,a=b").requirements().size(), 1u);
}

TEST(SelectorTest, EveryCanonicalFormParsesBackToItself) {
  for (const char* text : {"name=nginx,version=v1", "version!=v2", "version in (v1,v1.1)", "version notin (v2)",
                           "version", "!version", "app.kubernetes.io/name=web,tier", "a="}) {
    const Selector s = must_parse(text);
    EXPECT_EQ(s.to_string(), text);
    EXPECT_EQ(must_parse(s.to_string()), s);
  }
}

TEST(SelectorTest, EmptyTextSelectsEverything) {
  EXPECT_TRUE(must_parse("").empty());
  EXPECT_TRUE(must_parse("   ").empty());
  EXPECT_TRUE(Selector().matches({{"anything", "at all"}}));
  EXPECT_EQ(Selector().to_string(), "");
}

TEST(SelectorTest, PrefixedKeysAreAccepted) {
  EXPECT_EQ(must_parse("app.kubernetes.io/version in (v1)").requirements()[0].key, "app.kubernetes.io/version");
}

TEST(SelectorTest, EmptyTermsAreRejected) {
  EXPECT_EQ(parse_error("a=b,,c=d"), "empty selector term");
  EXPECT_EQ(parse_error(",a=b"), "empty selector term");
  EXPECT_EQ(parse_error("a=b,"), "empty selector term (trailing ',')");
}

TEST(SelectorTest, InWithoutParenthesisIsRejected) {
  EXPECT_EQ(parse_error("version in v1"), "expected '(' after 'in', got \"v1\"");
  EXPECT_EQ(parse_error("version notin"), "expected '(' after 'notin', got the end of the selector");
}

TEST(SelectorTest, BadValueListsAreRejected) {
  EXPECT_EQ(parse_error("version in ()"), "empty value list after 'in'; give at least one value");
  EXPECT_EQ(parse_error("version in (v1,,v2)"), "expected a value in the 'in' list, got ','");
  EXPECT_EQ(parse_error("version in (v1"), "missing ')' to close the 'in' list");
  EXPECT_EQ(parse_error("version notin (v1 v2)"), "expected ',' or ')' in the 'notin' list, got \"v2\"");
}

TEST(SelectorTest, UnknownOperatorIsRejected) {
  EXPECT_EQ(parse_error("version is v1"),
            "expected an operator (=, ==, !=, in, notin) after key \"version\", got \"is\"");
  EXPECT_EQ(parse_error("version(v1)"), "expected an operator (=, ==, !=, in, notin) after key \"version\", got '('");
  EXPECT_EQ(parse_error("version!v1"), "expected '!=' after key \"version\", got '!'");
}

TEST(SelectorTest, MisplacedSymbolsAreRejected) {
  EXPECT_EQ(parse_error("=v1"), "expected a label key, got '='");
  EXPECT_EQ(parse_error("!"), "expected a label key after '!', got the end of the selector");
  EXPECT_EQ(parse_error("!version=v1"), "'!version' takes no operator or value, got '='");
  EXPECT_EQ(parse_error("a===b"), "expected a value after '==', got '='");
  EXPECT_EQ(parse_error("a=b c=d"), "expected ',' or the end of the selector after \"a=b\", got \"c\"");
}

TEST(SelectorTest, InvalidKeysAndValuesAreRejected) {
  EXPECT_NE(parse_error("-version=v1").find("invalid label key \"-version\""), std::string::npos);
  EXPECT_NE(parse_error("Example.COM/version=v1").find("prefix \"Example.COM\""), std::string::npos);
  EXPECT_NE(parse_error("version=v1-").find("invalid label value \"v1-\""), std::string::npos);
  EXPECT_NE(parse_error("version in (ok,b@d)").find("invalid label value \"b@d\""), std::string::npos);
  EXPECT_NE(parse_error(std::string(64, 'k') + "=v").find("invalid label key"), std::string::npos);
  EXPECT_NE(parse_error("k=" + std::string(64, 'v')).find("invalid label value"), std::string::npos);
}

TEST(SelectorTest, FromLabelsRequiresEveryLabel) {
  const Selector s = Selector::from_labels({{"version", "v1"}, {"name", "nginx"}});
  EXPECT_EQ(s.to_string(), "name=nginx,version=v1");
  EXPECT_TRUE(s.matches({{"name", "nginx"}, {"version", "v1"}, {"zone", "a"}}));
  EXPECT_FALSE(s.matches({{"name", "nginx"}}));
  EXPECT_TRUE(Selector::from_labels({}).empty());
}

TEST(SelectorTest, ConjunctionMergesAndDeduplicates) {
  const Selector c = Selector::conjunction(must_parse("name=nginx,version=v1"), must_parse("version=v1,!canary"));
  EXPECT_EQ(c.to_string(), "!canary,name=nginx,version=v1");  // sorted by key, not by how it prints
  EXPECT_EQ(c.requirements().size(), 3u);
  EXPECT_EQ(Selector::conjunction(Selector(), must_parse("a=b")), must_parse("a=b"));
}

TEST(SelectorTest, DisjointWhenEqualsDiffer) { EXPECT_TRUE(disjoint("version=v1", "version=v2")); }
TEST(SelectorTest, DisjointWhenAbsentVersusEquals) { EXPECT_TRUE(disjoint("!version", "version=v2")); }
TEST(SelectorTest, DisjointWhenNotEqualsVersusEquals) { EXPECT_TRUE(disjoint("version!=v2", "version=v2")); }
TEST(SelectorTest, DisjointWhenInSetsDoNotIntersect) { EXPECT_TRUE(disjoint("version in (a,b)", "version in (c)")); }
TEST(SelectorTest, DisjointWhenNotInExcludesEquals) { EXPECT_TRUE(disjoint("version notin (v2)", "version=v2")); }
TEST(SelectorTest, DisjointWhenExistsVersusDoesNotExist) { EXPECT_TRUE(disjoint("version", "!version")); }
TEST(SelectorTest, DisjointWhenInVersusDoesNotExist) { EXPECT_TRUE(disjoint("version in (v1)", "!version")); }
TEST(SelectorTest, DisjointWhenNotInCoversTheInSet) {
  EXPECT_TRUE(disjoint("version notin (a,b)", "version in (a,b)"));
}
TEST(SelectorTest, DisjointWhenOneKeyOfSeveralContradicts) {
  EXPECT_TRUE(disjoint("name=nginx,version=v1", "name=nginx,version=v2"));
}
TEST(SelectorTest, DisjointWhenRequirementsCombineOnOneSide) {
  // Neither requirement alone contradicts version=v2, together they allow only v1.
  EXPECT_TRUE(disjoint("version in (v1,v2),version!=v2", "version=v2"));
}

TEST(SelectorTest, NotDisjointWhenBothCanHold) {
  EXPECT_FALSE(disjoint("version=v1", "version=v1"));
  EXPECT_FALSE(disjoint("version!=v1", "version!=v2"));  // e.g. version absent
  EXPECT_FALSE(disjoint("version notin (v2)", "!version"));
  EXPECT_FALSE(disjoint("version in (a,b)", "version in (b,c)"));
  EXPECT_FALSE(disjoint("version", "version!=v2"));
  EXPECT_FALSE(disjoint("version notin (a)", "version notin (b)"));
  EXPECT_FALSE(disjoint("name=nginx", "version=v2"));  // different keys never contradict
  EXPECT_FALSE(disjoint("version in (a,b)", "version!=a"));
}

TEST(SelectorTest, EmptySelectorIsNotDisjointFromASatisfiableOne) {
  for (const char* text : {"", "version=v1", "!version", "version", "a notin (x),b in (y)"}) {
    EXPECT_FALSE(disjoint("", text)) << text;
  }
}

TEST(SelectorTest, ContradictorySelectorIsNotSatisfiable) {
  EXPECT_FALSE(must_parse("version=v1,version=v2").satisfiable());
  EXPECT_FALSE(must_parse("version,!version").satisfiable());
  EXPECT_TRUE(must_parse("version=v1,version in (v1,v2)").satisfiable());
  EXPECT_TRUE(Selector().satisfiable());
}

}  // namespace
}  // namespace canaryd::config
