// The answers canaryd writes itself instead of relaying an upstream's: the one table of reason phrases
// and of the data plane's local replies (status and body text), and the one renderer of their bytes.
#pragma once

#include <string>
#include <string_view>

namespace canaryd::proxy {

/// The reason phrase canaryd sends with `status` (RFC 9110 15's names); "Error" for one not listed.
std::string_view reason_phrase(int status);

/// A local reply: the status and the text of its plain-text body (sent with a final "\n").
struct LocalReply {
  int status = 0;
  std::string_view text;
};

/// The data plane's fixed local replies. Others carry the text the request check or the chunked
/// decoder gave (RequestCheck::reason, ChunkedDecoder::error()).
namespace local_reply {
inline constexpr LocalReply kHeaderTimeout{408, "request header timeout"};
inline constexpr LocalReply kHeaderTooLarge{431, "request header fields too large"};
inline constexpr LocalReply kBareLineBreak{400, "bare CR or LF in header"};
inline constexpr LocalReply kBodyTooLarge{413, "request body too large"};
inline constexpr LocalReply kConnectUnsupported{405, "CONNECT is not supported"};
inline constexpr LocalReply kUnsupportedExpectation{417, "unsupported expectation"};
inline constexpr LocalReply kNoHealthyEndpoint{503, "no healthy endpoint"};
inline constexpr LocalReply kOutOfDescriptors{503, "canaryd is out of file descriptors"};
inline constexpr LocalReply kUnreachable{502, "no upstream endpoint could be reached"};
inline constexpr LocalReply kInvalidResponse{502, "invalid response from upstream"};
inline constexpr LocalReply kUpstreamTimeout{504, "upstream timed out"};
inline constexpr LocalReply kUpstreamClosed{502, "upstream closed the connection"};
inline constexpr LocalReply kSwitchedProtocols{502, "upstream switched protocols"};
/// Over limits.max_connections (answered with Retry-After: 1).
inline constexpr LocalReply kTooManyConnections{503, "too many connections"};
}  // namespace local_reply

/// How a local reply is sent: the connection, and at most one more field after Content-Length (the
/// field naming the set that answered, or Retry-After). An empty `field_name` adds none.
struct LocalReplyFraming {
  bool keep_alive = false;  ///< false: "Connection: close"
  std::string_view field_name;
  std::string_view field_value;
  std::string_view reason;  ///< X-Canary-Reason's value, beside the set's field; empty: none
};

/// The complete HTTP/1.1 response for `reply`, text/plain, its Content-Length computed, into `out`.
void render_local_reply(const LocalReply& reply, const LocalReplyFraming& framing, std::string& out);

/// The answer to a connection refused over limits.max_connections, rendered once.
std::string_view refusal_reply();

}  // namespace canaryd::proxy
