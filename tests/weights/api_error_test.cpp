// The one mapping from why a change was refused (TransitionError::Kind) to the control API's status,
// and that every status it gives has the error kind scripts read.
#include "weights/api_error.hpp"

#include <gtest/gtest.h>

namespace canaryd::weights {
namespace {

using Kind = TransitionError::Kind;

TEST(ApiErrorTest, EachTransitionErrorKindHasItsStatus) {
  EXPECT_EQ(http_status(Kind::InvalidArgument), 400);
  EXPECT_EQ(http_status(Kind::NotFound), 404);
  EXPECT_EQ(http_status(Kind::Conflict), 409);
  EXPECT_EQ(http_status(Kind::StorageFailed), 500);
  EXPECT_EQ(http_status(Kind::Contended), 503);
}

TEST(ApiErrorTest, TransitionStatusesReadAsTheirErrorKinds) {
  EXPECT_EQ(error_kind(http_status(Kind::InvalidArgument)), "bad_request");
  EXPECT_EQ(error_kind(http_status(Kind::NotFound)), "not_found");
  EXPECT_EQ(error_kind(http_status(Kind::Conflict)), "conflict");
  EXPECT_EQ(error_kind(http_status(Kind::StorageFailed)), "internal");
  EXPECT_EQ(error_kind(http_status(Kind::Contended)), "internal");
}

}  // namespace
}  // namespace canaryd::weights
