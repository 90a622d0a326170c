// FUZZ_CHECK: an invariant of a fuzz target. Unlike assert() it stays on in every build type, and it
// prints what failed before aborting, so libFuzzer records the input as a crash with that message.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace canaryd::fuzz {

[[noreturn]] inline void check_failed(const char* expr, const char* file, int line, std::string_view detail) {
  std::fprintf(stderr, "\nFUZZ_CHECK failed: %s\n  at %s:%d\n", expr, file, line);
  if (!detail.empty()) std::fprintf(stderr, "  detail: %.*s\n", static_cast<int>(detail.size()), detail.data());
  std::fflush(stderr);
  std::abort();
}

}  // namespace canaryd::fuzz

#define FUZZ_CHECK(cond, detail)                                                       \
  do {                                                                                 \
    if (!(cond)) ::canaryd::fuzz::check_failed(#cond, __FILE__, __LINE__, (detail)); \
  } while (false)
