// One HTTP/2 stream of a client connection: one request, routed on its own by choose_set and relayed
// over the worker's HTTP/1.1 upstream pools like an Exchange, with both bodies streamed under HTTP/2
// flow control (request DATA acknowledged as it is written upstream; the response read from the
// upstream only as fast as the client's window lets it go out).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <nghttp2/nghttp2.h>

#include "proxy/dataplane/head_reader.hpp"
#include "proxy/dataplane/request_scratch.hpp"
#include "proxy/dataplane/upstream_attempt.hpp"
#include "proxy/dataplane/wake_signal.hpp"
#include "proxy/http/h2_fields.hpp"
#include "proxy/http/local_reply.hpp"
#include "proxy/http/response_head.hpp"
#include "proxy/http/response_plan.hpp"

namespace canaryd::proxy {

class H2Connection;

/// One stream. The connection's nghttp2 callbacks fill it (fields, body data, its end, its close);
/// serve() is the request, started once the request's header block is complete.
class H2Stream : public std::enable_shared_from_this<H2Stream> {
 public:
  H2Stream(H2Connection& conn, std::int32_t id);

  // From the connection's callbacks.
  /// One decoded request field; false when the field list is over the limit (a 431).
  void add_field(std::string_view name, std::string_view value);
  void add_data(const std::uint8_t* data, std::size_t size);
  void end_of_request();
  void closed();
  /// The request's header block is complete: the request starts (its coroutine is spawned).
  void start();
  bool started() const { return started_; }
  /// The decoded size of the request's field list so far (SETTINGS_MAX_HEADER_LIST_SIZE's measure).
  std::size_t list_size() const { return request_.list_size(); }

  /// nghttp2's data source of the response body (nghttp2_data_source_read_callback).
  static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                                        std::uint32_t* flags, nghttp2_data_source* source, void*);

 private:
  boost::asio::awaitable<void> serve();
  /// After serve(): the upstream connection closed, the scratch memory returned, the connection told.
  void drop_and_end();
  /// The reply refusing the request before it is routed, if any.
  std::optional<LocalReply> admit(std::string_view head);
  bool route();
  /// One upstream attempt: the head and body sent, the response head read. nullopt: a response head is
  /// ready; otherwise the reply to give (or the stream is gone: kGone).
  boost::asio::awaitable<std::optional<LocalReply>> attempt();
  /// Reads the upstream response's header block into the scratch's upstream buffer (read_head_block),
  /// each read under the upstream timeout kept by the worker's ReadDeadlines on a plain upstream.
  boost::asio::awaitable<HeadRead> read_response_head();
  boost::asio::awaitable<bool> send_body();
  /// Submits the response head and relays the body.
  boost::asio::awaitable<void> respond();
  boost::asio::awaitable<bool> relay_length(std::uint64_t length);
  boost::asio::awaitable<bool> relay_decoded();
  /// Hands `piece` to nghttp2 and waits until it has all gone into frames (or the stream closed).
  boost::asio::awaitable<bool> offer(std::string_view piece, bool last);
  boost::asio::awaitable<void> reply(LocalReply reply, SetKind set);
  /// Submits the response head in `scratch_->head_out` (an HTTP/1.1 head) for `status`, with a body
  /// from the data source when `body`.
  bool submit(int status, bool body);
  /// Waits until the response went out whole (or the stream closed); resets a request still being sent.
  boost::asio::awaitable<void> finish_stream();
  /// RST_STREAM with `error`, unless the stream is closed already.
  void reset(std::uint32_t error);
  void record(SetKind set, int status, bool upstream_failed = false);
  void log_access(SetKind set, int status);

  H2Connection& conn_;
  const std::int32_t id_;
  WakeSignal signal_;
  H2RequestHead request_;
  std::string inbound_;   ///< request body bytes received and not yet written upstream
  std::string outbound_;  ///< request body bytes being written upstream
  std::uint64_t body_received_ = 0;
  bool started_ = false;
  bool request_done_ = false;  ///< END_STREAM received
  bool closed_ = false;        ///< nghttp2 closed the stream (done, or reset)
  bool body_too_large_ = false;
  bool reset_sent_ = false;    ///< we reset the stream (the client stalled, or a truncated response)

  // The request, once started.
  std::shared_ptr<const RoutingSnapshot> snapshot_;
  std::chrono::steady_clock::time_point started_at_;
  std::optional<ScratchPool::Lease> scratch_;
  RequestCheck check_;
  std::string_view head_;
  SetKind chosen_ = SetKind::None;
  bool weight_placed_ = false;
  weights::RouteReason reason_ = weights::RouteReason::Weight;
  std::optional<CookieValue> issued_cookie_;
  UpstreamAttempt attempt_;
  bool resend_safe_ = false;
  bool body_sent_ = false;  ///< some of the body went upstream: never sent again
  HeadRead got_;
  ResponseHead response_;
  ResponsePlan plan_;
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
  std::vector<nghttp2_nv> nv_;
  std::vector<H2Field> fields_;
  char status_text_[4] = {};

  // The response body on its way through nghttp2.
  std::string_view pending_;
  bool last_ = false;       ///< pending_ is the end of the body
  bool deferred_ = false;   ///< the data source said NGHTTP2_ERR_DEFERRED
  bool eof_sent_ = false;   ///< the data source gave the end of the body
  std::optional<boost::beast::http::response_parser<boost::beast::http::buffer_body>> decoder_;
};

}  // namespace canaryd::proxy
