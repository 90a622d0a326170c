// The resend policy of resend_policy.hpp.
#include "proxy/http/resend_policy.hpp"

namespace canaryd::proxy {

bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" || method == "PUT" ||
         method == "DELETE";
}

bool resend_safe(std::string_view method, bool body_expected) { return !body_expected && idempotent(method); }

AfterFailure judge_failed_attempt(const FailedAttempt& a) {
  AfterFailure out;
  out.send_again = a.resend_safe && a.nothing_came_back && !a.send_timed_out && (a.reused || a.connects_left > 0);
  out.blame_endpoint = !a.reused || !a.nothing_came_back;
  return out;
}

}  // namespace canaryd::proxy
