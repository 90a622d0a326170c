// The heads canaryd sends: the upstream request from the client's head and the client response from the
// upstream's, written straight into one reused string, with what each changes on the way.
#pragma once

#include <string>
#include <string_view>

#include "proxy/http/request_validator.hpp"
#include "proxy/http/response_head.hpp"

namespace canaryd::proxy {

/// Our entry in Via for a message received as HTTP/1.1 (RFC 9110 7.6.3 names the received version).
inline constexpr std::string_view kViaEntry = "1.1 canaryd";
inline constexpr std::string_view kViaEntryHttp10 = "1.0 canaryd";
inline constexpr std::string_view kViaEntryHttp2 = "2 canaryd";
/// The response field naming the rule that chose the set (contract section 8), beside the set's.
inline constexpr std::string_view kReasonHeader = "X-Canary-Reason";

// The heads a proxied exchange sends are written straight from the received header blocks into one
// string: fields are copied as they came, in order, except those dropped or replaced; nothing is
// parsed into a container, so a request costs no allocation once the string has grown.
//
// Dropped everywhere: the hop-by-hop fields of RFC 9110 7.6.1 (Connection, Keep-Alive,
// Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-Authenticate, Proxy-Authorization)
// and every field a Connection field names. Replaced: Content-Length (one field for the body as it is
// sent), Via (every earlier entry kept, in order, joined into one field, then ours).

/// What changes on the way from the client to the upstream.
struct UpstreamRequestRewrite {
  std::string_view client_ip;        ///< appended to X-Forwarded-For (earlier values kept, in order)
  std::string_view proto;            ///< X-Forwarded-Proto, replacing any received one
  std::string_view override_header;  ///< the routing override field, not forwarded (empty: none)
  std::string_view host_if_missing;  ///< Host for an HTTP/1.0 request that has none (HTTP/1.1 needs one)
  bool chunked = false;              ///< the body goes as chunked; otherwise check.content_length (if any)
  /// Our Via entry when the request came in another protocol than the head says (HTTP/2); empty: the head's.
  std::string_view via_entry = {};
};

/// The head to send upstream for a request check_request_head accepted: HTTP/1.1 with the origin-form
/// target (an absolute-form target's authority becomes Host), Expect and the override field dropped.
/// A WebSocket handshake (check.websocket) keeps its Upgrade fields as received and carries
/// `Connection: upgrade`; any other request's Upgrade is dropped like every hop-by-hop field.
void write_upstream_request(std::string_view head, const RequestCheck& check, const UpstreamRequestRewrite& rw,
                            std::string& out);

/// What changes on the way from the upstream back to the client.
struct ClientResponseRewrite {
  std::string_view via_entry = kViaEntry;
  std::string_view set_header;  ///< the field that names the set (replacing any received one); empty: none
  std::string_view set_name;
  /// X-Canary-Reason's value (the rule that chose the set; replacing any received one); empty: none.
  std::string_view reason;
  /// A Set-Cookie field giving the client its affinity cookie (append_set_cookie); empty name: none.
  std::string_view set_cookie_name;
  std::string_view set_cookie_value;
  /// The body goes as chunked (it came chunked or until close), after the upstream's other transfer
  /// codings, which stay with the body: `Transfer-Encoding: gzip, chunked`.
  bool chunked = false;
  /// For an HTTP/1.0 client, which must not get a Transfer-Encoding (RFC 9112 6.1) and reads until we
  /// close: the upstream's transfer codings other than chunked are named in Content-Encoding instead,
  /// after those it had, so that the client can still decode the body (the bytes are the same).
  bool codings_to_content_encoding = false;
  enum class Connection { Default, Close, KeepAlive } connection = Connection::Default;
  /// A 101 accepting the WebSocket handshake the request asked for: the upstream's Upgrade fields are
  /// kept and `Connection: upgrade` is sent (`connection` is not used), no Content-Length.
  bool upgrade = false;
};

/// The head to send to the client for a final response: HTTP/1.1 with the upstream's status and
/// reason (the standard reason when it sent none), its Content-Length when it had one.
void write_client_response(std::string_view head, const ResponseHead& response, const ClientResponseRewrite& rw,
                           std::string& out);

/// An interim (1xx) response as forwarded to an HTTP/1.1 client: hop-by-hop fields dropped, no Via.
void write_interim_response(std::string_view head, const ResponseHead& response, std::string& out);

}  // namespace canaryd::proxy
