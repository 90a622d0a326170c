// A test helper for calls that return a Result: the result as it is, with its error's message copied
// to a string first, so that a test can check the outcome and then the message in separate assertions
// (as it did when these calls filled an error out-parameter).
#pragma once

#include <string>

#include "config/result.hpp"

namespace canaryd {

template <class T, class E>
Result<T, E> noting_error(Result<T, E> result, std::string& error) {
  if (!result) error = result.error().message;
  return result;
}

}  // namespace canaryd
