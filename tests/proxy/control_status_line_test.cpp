// The control port's status lines come from the shared reason-phrase table and are the bytes Beast's
// obsolete_reason gave before: one test per status the control port answers.
#include <gtest/gtest.h>

#include <string>

#include <boost/beast/http/status.hpp>

#include "proxy/control/control_response.hpp"

namespace canaryd::proxy {
namespace {

TEST(ControlStatusLine, SameReasonPhrasesAsBeast) {
  namespace http = boost::beast::http;
  for (int status : {200, 400, 401, 404, 405, 409, 411, 413, 431, 500, 503}) {
    ControlReply r;
    r.status = status;
    const std::string out = format_control_response(r, {});
    const std::string expected = "HTTP/1.1 " + std::to_string(status) + " " +
                                 std::string(http::obsolete_reason(http::int_to_status(static_cast<unsigned>(status)))) +
                                 "\r\n";
    EXPECT_TRUE(out.starts_with(expected)) << out;
  }
}

}  // namespace
}  // namespace canaryd::proxy
