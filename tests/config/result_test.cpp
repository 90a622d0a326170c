// Result<T, E>: values, errors, the void form and the conversions that make `return fail(...)` read well.
#include "config/result.hpp"

#include <memory>
#include <string>
#include <variant>

#include <gtest/gtest.h>

namespace canaryd {
namespace {

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return fail("not a digit: " + std::string(1, c));
  return c - '0';
}

struct Conflict {
  int revision = 0;
};

Result<std::string, Conflict> at_revision(int have, int want) {
  if (have != want) return fail(Conflict{have});
  return std::string("ok");
}

Result<void> check_positive(int n) {
  if (n <= 0) return fail(Error{"must be positive"});
  return {};
}

TEST(ResultTest, HoldsTheValueWhenOk) {
  const auto r = parse_digit('7');
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(r.value_or(-1), 7);
}

TEST(ResultTest, HoldsTheErrorWhenFailed) {
  const auto r = parse_digit('x');
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "not a digit: x");
  EXPECT_EQ(r.value_or(-1), -1);
  EXPECT_THROW((void)r.value(), std::bad_variant_access);
}

TEST(ResultTest, CarriesATypedError) {
  const auto r = at_revision(4, 3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().revision, 4);
  EXPECT_EQ(*at_revision(3, 3), "ok");
}

TEST(ResultTest, TellsAValueFromAnErrorOfTheSameType) {
  // A string value and a string error stay apart: the side is the index, not the type.
  Result<std::string, std::string> value = std::string("v");
  Result<std::string, std::string> error = fail(std::string("e"));
  EXPECT_TRUE(value.ok());
  EXPECT_EQ(*value, "v");
  EXPECT_FALSE(error.ok());
  EXPECT_EQ(error.error(), "e");
}

TEST(ResultTest, VoidIsSuccessOrAnError) {
  EXPECT_TRUE(check_positive(1).ok());
  const auto r = check_positive(0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "must be positive");
}

TEST(ResultTest, MovesOutAMoveOnlyValue) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 5);
}

TEST(ResultTest, ConvertsAValueOfAnotherType) {
  Result<std::string> r = "text";
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "text");
}

}  // namespace
}  // namespace canaryd
