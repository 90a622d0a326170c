// Unit tests of label key and value validation against Kubernetes' rules.
#include "config/labels.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/config/noting_error.hpp"

namespace canaryd::config {
namespace {

bool key_ok(std::string_view key) { return validate_label_key(key).ok(); }

bool value_ok(std::string_view value) { return validate_label_value(value).ok(); }

TEST(LabelsTest, KeysFollowKubernetesRules) {
  EXPECT_TRUE(key_ok("version"));
  EXPECT_TRUE(key_ok("app.kubernetes.io/name"));
  EXPECT_TRUE(key_ok("A_b.c-9"));
  EXPECT_TRUE(key_ok(std::string(63, 'k')));
  EXPECT_FALSE(key_ok(""));
  EXPECT_FALSE(key_ok(std::string(64, 'k')));
  EXPECT_FALSE(key_ok("-version"));
  EXPECT_FALSE(key_ok("version."));
  EXPECT_FALSE(key_ok("ver sion"));
  EXPECT_FALSE(key_ok("/name"));
  EXPECT_FALSE(key_ok("example.com/"));
  EXPECT_FALSE(key_ok("Example.com/name"));  // the prefix is a lowercase DNS name
  EXPECT_FALSE(key_ok("a/b/c"));
  EXPECT_FALSE(key_ok("example..com/name"));
}

TEST(LabelsTest, ValuesFollowKubernetesRules) {
  EXPECT_TRUE(value_ok(""));
  EXPECT_TRUE(value_ok("v1.2_3-rc"));
  EXPECT_TRUE(value_ok(std::string(63, 'v')));
  EXPECT_FALSE(value_ok(std::string(64, 'v')));
  EXPECT_FALSE(value_ok("v1-"));
  EXPECT_FALSE(value_ok("a/b"));
  EXPECT_FALSE(value_ok("v 1"));
}

TEST(LabelsTest, ErrorsNameTheOffendingText) {
  std::string error;
  ASSERT_FALSE(noting_error(validate_label_value("bad value"), error));
  EXPECT_EQ(error,
            "invalid label value \"bad value\": must be at most 63 characters of [A-Za-z0-9._-], starting and ending "
            "with a letter or digit");
}

}  // namespace
}  // namespace canaryd::config
