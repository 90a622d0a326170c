// Fuzzes our own HTTP/1.1 framing checks (proxy/request_validator), the request-smuggling defence.
//
// Invariants:
// - find_head_end agrees with a plain search for CRLF CRLF, also when resumed from an offset before it;
// - check_request_head never crashes, answers 0/400/431/505 with a reason, and an accepted head never
//   has both framings (chunked and Content-Length) nor chunked on HTTP/1.0;
// - for a complete head it accepts, Boost.Beast's request parser (the one the proxy reads with) may
//   still reject it, but if Beast parses it, both must agree on the framing: where the header ends,
//   chunked or not, the Content-Length value, whether a body follows, and HTTP/1.0 versus 1.x;
// - the head write_upstream_request makes of an accepted head is itself accepted, as HTTP/1.1, with the
//   same method and body framing, exactly one Host, and none of the hop-by-hop fields but a WebSocket
//   handshake's Upgrade and Connection (it stays a handshake, and nothing else becomes one);
// - parse_response_head never crashes; for a response head it accepts, the head write_client_response
//   makes is accepted too, as HTTP/1.1 with the same status, the same Content-Length (or chunked when
//   asked to re-chunk, after the same other transfer codings), and none of the hop-by-hop fields;
// - what follows a head, read as a chunked body by ChunkedDecoder, decodes the same whether it comes
//   at once or byte by byte, and a body it decodes whole, encoded again, decodes to the same bytes.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>

#include "proxy/dataplane/body_relay.hpp"
#include "proxy/http/chunked_decoder.hpp"
#include "proxy/http/head_rewrite.hpp"
#include "proxy/http/request_validator.hpp"
#include "proxy/http/response_head.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

namespace http = boost::beast::http;
using canaryd::proxy::check_request_head;
using canaryd::proxy::find_head_end;
using canaryd::proxy::RequestCheck;

constexpr std::size_t npos = std::string_view::npos;

void check_find_head_end(std::string_view input) {
  const std::size_t end = find_head_end(input);
  const std::size_t plain = input.find("\r\n\r\n");
  FUZZ_CHECK(end == (plain == npos ? npos : plain + 4), "find_head_end disagrees with a plain search");

  // Resuming from `from` promises the same answer as long as data[0, from) holds no complete CRLF CRLF,
  // i.e. for every from < end (every from at all when there is none).
  const std::size_t size = input.size();
  const std::size_t froms[] = {0, 1, 2, 3, 4, 5, size / 3, size / 2, size > 0 ? size - 1 : 0, size, size + 7};
  for (std::size_t from : froms) {
    if (end != npos && from >= end) continue;
    FUZZ_CHECK(find_head_end(input, from) == end, "find_head_end resumed from an offset lost the header end");
  }
  if (end != npos) {
    for (std::size_t back = 1; back <= 4 && back <= end; ++back) {
      FUZZ_CHECK(find_head_end(input, end - back) == end, "find_head_end resumed just before the end missed it");
    }
  }
}

void check_result_shape(const RequestCheck& c) {
  FUZZ_CHECK(c.reason != nullptr, "reason is null");
  FUZZ_CHECK(c.status == 0 || c.status == 400 || c.status == 431 || c.status == 505, "unexpected status");
  if (c.status != 0) {
    FUZZ_CHECK(c.reason[0] != '\0', "a rejection without a reason");
    return;
  }
  FUZZ_CHECK(!(c.chunked && c.content_length), "accepted both chunked and Content-Length");
  FUZZ_CHECK(!(c.chunked && c.http10), "accepted chunked on HTTP/1.0");
  FUZZ_CHECK(c.minor_version >= 0 && c.minor_version <= 9 && c.http10 == (c.minor_version == 0),
             "minor_version out of range or inconsistent with http10");
}

// `head` is a complete header block (ends with its first CRLF CRLF) that check_request_head accepted.
void check_against_beast(std::string_view head, const RequestCheck& ours) {
  http::request_parser<http::empty_body> parser;
  parser.header_limit(std::numeric_limits<std::uint32_t>::max());  // our caller enforces its own limit
  parser.body_limit(boost::none);                                   // so that any Content-Length is read
  parser.eager(false);
  boost::beast::error_code ec;
  const std::size_t used = parser.put(boost::asio::const_buffer(head.data(), head.size()), ec);
  if (ec == http::error::need_more) {
    // The head is complete by our reading (it ends at the first CRLF CRLF); Beast waiting for more means
    // it sees the header end elsewhere: a framing disagreement.
    FUZZ_CHECK(false, "Beast needs more bytes for a header block we consider complete");
  }
  if (ec) return;  // Beast may refuse what we accept; the proxy then answers 400 anyway.
  FUZZ_CHECK(parser.is_header_done(), "Beast returned without error but without a header");
  FUZZ_CHECK(used == head.size(), "Beast ended the header somewhere else than we did");

  FUZZ_CHECK(parser.chunked() == ours.chunked, ours.chunked ? "we say chunked, Beast does not"
                                                            : "Beast says chunked, we do not");
  const boost::optional<std::uint64_t> beast_length = parser.content_length();
  FUZZ_CHECK(beast_length.has_value() == ours.content_length.has_value(),
             ours.content_length ? "we found a Content-Length, Beast did not" : "Beast found a Content-Length, we did not");
  if (beast_length) FUZZ_CHECK(*beast_length == *ours.content_length, "Content-Length values differ");

  const bool body_follows = ours.chunked || (ours.content_length && *ours.content_length > 0);
  FUZZ_CHECK(parser.is_done() == !body_follows, body_follows ? "Beast expects no body, we do" : "Beast expects a body, we do not");

  const unsigned version = parser.get().version();
  FUZZ_CHECK(version / 10 == 1, "accepted a version other than HTTP/1.x");
  FUZZ_CHECK((version == 10) == ours.http10, "HTTP/1.0 versus 1.x differs");
  FUZZ_CHECK(version == 10u + static_cast<unsigned>(ours.minor_version), "minor versions differ");
}

bool has_hop_by_hop(const canaryd::proxy::FieldIndex& fields) {
  for (const auto& f : fields)
    if (f.kind == canaryd::proxy::FieldKind::HopByHop || f.kind == canaryd::proxy::FieldKind::Connection ||
        f.kind == canaryd::proxy::FieldKind::TransferEncoding)
      return true;
  return false;
}

void check_upstream_request(std::string_view head, const RequestCheck& ours) {
  // Our fields (Host, X-Forwarded-*, Via, Content-Length) may take a head at the field-count limit over it.
  if (ours.fields.size() > 95) return;
  canaryd::proxy::UpstreamRequestRewrite rw{"192.0.2.1", "http", "X-Canary", "10.0.0.1:80", ours.chunked};
  std::string out;
  canaryd::proxy::write_upstream_request(head, ours, rw, out);
  const RequestCheck again = check_request_head(out);
  FUZZ_CHECK(again.status == 0, again.reason);
  FUZZ_CHECK(!again.http10 && again.minor_version == 1, "the upstream head is not HTTP/1.1");
  FUZZ_CHECK(again.method == ours.method, "the method changed");
  FUZZ_CHECK(again.chunked == ours.chunked, "the body framing changed (chunked)");
  FUZZ_CHECK(again.content_length == (ours.chunked ? std::nullopt : ours.content_length),
             "the body framing changed (Content-Length)");
  FUZZ_CHECK(again.has_host, "the upstream head has no Host");
  FUZZ_CHECK(again.authority.empty() && !again.target_needs_slash, "the upstream target is not in origin form");
  std::size_t hosts = 0;
  for (const auto& f : again.fields) hosts += f.kind == canaryd::proxy::FieldKind::Host;
  FUZZ_CHECK(hosts == 1, "the upstream head has more than one Host");
  // A WebSocket handshake keeps its Upgrade fields and carries Connection: upgrade, and stays one.
  FUZZ_CHECK(again.websocket == ours.websocket, "the WebSocket handshake changed");
  for (const auto& f : again.fields) {
    FUZZ_CHECK(f.kind != canaryd::proxy::FieldKind::Expect, "Expect was forwarded");
    const bool handshake_field =
        ours.websocket && (f.kind == canaryd::proxy::FieldKind::Connection ||
                           canaryd::proxy::http_text::iequals(canaryd::proxy::FieldIndex::name(out, f), "upgrade"));
    FUZZ_CHECK(handshake_field ||
                   (f.kind != canaryd::proxy::FieldKind::HopByHop && f.kind != canaryd::proxy::FieldKind::Connection),
               "a hop-by-hop field was forwarded");
  }
}

void check_client_response(std::string_view head) {
  const canaryd::proxy::ResponseHead response = canaryd::proxy::parse_response_head(head);
  if (response.error || response.fields.size() > canaryd::proxy::FieldIndex::kMaxFields - 8) return;
  FUZZ_CHECK(response.status >= 100 && response.status <= 999, "status out of range");
  FUZZ_CHECK(!(response.chunked && response.content_length), "both chunked and Content-Length");
  for (const bool rechunk : {false, true}) {
    canaryd::proxy::ClientResponseRewrite rw;
    rw.set_header = "X-Canary-Set";
    rw.set_name = "stable";
    rw.chunked = rechunk && !response.content_length;
    std::string out;
    canaryd::proxy::write_client_response(head, response, rw, out);
    const canaryd::proxy::ResponseHead again = canaryd::proxy::parse_response_head(out);
    FUZZ_CHECK(again.error == nullptr, again.error);
    FUZZ_CHECK(!again.http10, "the client's head is not HTTP/1.1");
    FUZZ_CHECK(again.status == response.status, "the status changed");
    FUZZ_CHECK(again.chunked == rw.chunked, "the framing changed (chunked)");
    FUZZ_CHECK(again.transfer_coded == (rw.chunked && response.transfer_coded), "a transfer coding was lost or added");
    FUZZ_CHECK(again.content_length == (rw.chunked ? std::nullopt : response.content_length),
               "the framing changed (Content-Length)");
    // Ours is the only Transfer-Encoding a re-chunked response carries; nothing else hop-by-hop stays.
    if (!rw.chunked) FUZZ_CHECK(!has_hop_by_hop(again.fields), "a hop-by-hop field was forwarded");
  }
}

struct Decoded {
  std::string body;
  std::size_t consumed = 0;
  bool done = false;
  int status = 0;
};

// Decodes `wire` fed `piece` bytes at a time, as the relay does (what a step consumes is gone).
Decoded decode_chunked(std::string_view wire, std::size_t piece) {
  canaryd::proxy::ChunkedDecoder d(1 << 20, 256);
  Decoded out;
  std::string pending;
  for (std::size_t fed = 0; fed < wire.size() && !d.done() && !d.failed(); fed += piece) {
    pending.append(wire.substr(fed, piece));
    for (;;) {
      const auto step = d.next(pending, 7);
      out.body.append(step.data);
      out.consumed += step.consumed;
      pending.erase(0, step.consumed);
      if (step.consumed == 0) break;
    }
  }
  out.done = d.done();
  out.status = d.failed() ? d.error_status() : 0;
  return out;
}

void check_chunked_body(std::string_view wire) {
  const Decoded whole = decode_chunked(wire, wire.size() + 1);
  const Decoded bytes = decode_chunked(wire, 1);
  FUZZ_CHECK(whole.body == bytes.body && whole.consumed == bytes.consumed && whole.done == bytes.done &&
                 whole.status == bytes.status,
             "a chunked body decodes differently byte by byte");
  FUZZ_CHECK(whole.status == 0 || whole.status == 400 || whole.status == 413 || whole.status == 431,
             "unexpected status from the chunked decoder");
  FUZZ_CHECK(whole.consumed <= wire.size(), "the decoder consumed more than it was given");
  if (!whole.done) return;
  std::string again;
  if (!whole.body.empty()) {
    char line[20];
    again.append(line, canaryd::proxy::chunk_size_line(whole.body.size(), line));
    again += whole.body + "\r\n";
  }
  again += "0\r\n\r\n";
  const Decoded re = decode_chunked(again, again.size());
  FUZZ_CHECK(re.done && re.body == whole.body, "a decoded body, encoded again, decodes differently");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_find_head_end(input);

  // The raw input as a "head" too (no promise about its framing, which the caller guarantees by
  // cutting at find_head_end): only that nothing crashes and the answer is well formed.
  check_result_shape(check_request_head(input));

  const std::size_t end = find_head_end(input);
  if (end == npos) return 0;
  const std::string_view head = input.substr(0, end);
  const RequestCheck ours = check_request_head(head);
  check_result_shape(ours);
  if (ours.status == 0) {
    check_against_beast(head, ours);
    check_upstream_request(head, ours);
  }
  check_client_response(head);
  check_chunked_body(input.substr(end));
  return 0;
}
