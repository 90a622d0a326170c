// The resend policy: which failed upstream attempts are sent again, and which count against the endpoint.
#include "proxy/http/resend_policy.hpp"

#include <gtest/gtest.h>

namespace canaryd::proxy {
namespace {

FailedAttempt closed_before_response(bool reused, unsigned connects_left) {
  FailedAttempt a;
  a.resend_safe = true;
  a.nothing_came_back = true;
  a.reused = reused;
  a.connects_left = connects_left;
  return a;
}

TEST(ResendPolicy, IdempotentMethods) {
  for (auto m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) EXPECT_TRUE(idempotent(m)) << m;
  for (auto m : {"POST", "PATCH", "CONNECT", "get", ""}) EXPECT_FALSE(idempotent(m)) << m;
}

TEST(ResendPolicy, OnlyIdempotentRequestsWithoutBodyAreResendSafe) {
  EXPECT_TRUE(resend_safe("GET", false));
  EXPECT_FALSE(resend_safe("GET", true));
  EXPECT_FALSE(resend_safe("PUT", true));
  EXPECT_FALSE(resend_safe("POST", false));
}

TEST(ResendPolicy, ReusedConnectionClosedBeforeResponseIsSentAgainWithoutBlame) {
  const AfterFailure next = judge_failed_attempt(closed_before_response(true, 0));
  EXPECT_TRUE(next.send_again);  // a pooled connection costs no new connect
  EXPECT_FALSE(next.blame_endpoint);
}

TEST(ResendPolicy, FreshConnectionClosedBeforeResponseIsSentAgainWhileConnectsAreLeft) {
  AfterFailure next = judge_failed_attempt(closed_before_response(false, 1));
  EXPECT_TRUE(next.send_again);
  EXPECT_TRUE(next.blame_endpoint);
  next = judge_failed_attempt(closed_before_response(false, 0));
  EXPECT_FALSE(next.send_again);
  EXPECT_TRUE(next.blame_endpoint);
}

TEST(ResendPolicy, NotResendSafeIsNeverSentAgain) {
  FailedAttempt a = closed_before_response(true, 3);
  a.resend_safe = false;
  const AfterFailure next = judge_failed_attempt(a);
  EXPECT_FALSE(next.send_again);
  EXPECT_FALSE(next.blame_endpoint);  // a reused connection the upstream closed
}

TEST(ResendPolicy, SomethingCameBackIsNotSentAgainAndBlamesTheEndpoint) {
  FailedAttempt a = closed_before_response(true, 3);
  a.nothing_came_back = false;  // a timeout or a partial head
  const AfterFailure next = judge_failed_attempt(a);
  EXPECT_FALSE(next.send_again);
  EXPECT_TRUE(next.blame_endpoint);
}

TEST(ResendPolicy, SendTimeoutIsNotSentAgain) {
  FailedAttempt a = closed_before_response(true, 3);
  a.send_timed_out = true;
  EXPECT_FALSE(judge_failed_attempt(a).send_again);
}

}  // namespace
}  // namespace canaryd::proxy
