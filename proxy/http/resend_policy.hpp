// Whether a request whose upstream attempt failed may be sent again on another connection, and whether
// the failure counts against the endpoint: the retry policy of the request path, without sockets.
#pragma once

#include <string_view>

namespace canaryd::proxy {

/// RFC 9110 9.2.2: GET, HEAD, OPTIONS, TRACE, PUT and DELETE.
bool idempotent(std::string_view method);

/// Whether a request may ever be sent twice: idempotent and without a body (RFC 9112 9.3.1.1: a
/// non-idempotent request is never sent again; a body already read from the client is gone).
bool resend_safe(std::string_view method, bool body_expected);

/// How an upstream attempt ended without a usable response head.
struct FailedAttempt {
  bool resend_safe = false;        ///< see resend_safe()
  bool nothing_came_back = false;  ///< the connection ended (or the send failed) before one byte of a response
  bool send_timed_out = false;     ///< sending the request hit the upstream timeout
  bool reused = false;             ///< the connection came from the pool
  unsigned connects_left = 0;      ///< new connections the request may still open (routing.retries)
};

struct AfterFailure {
  bool send_again = false;      ///< send the request again on another connection
  bool blame_endpoint = false;  ///< count a failure against the endpoint (passive ejection)
};

/// A pooled connection the upstream closed just as we reused it says nothing about the endpoint, and
/// sending again on it costs no new connection; a fresh connection that ended before the response
/// (an endpoint going away) is the endpoint's failure, and the next try counts against routing.retries.
AfterFailure judge_failed_attempt(const FailedAttempt& attempt);

}  // namespace canaryd::proxy
