// Relaying a response body that needs decoding (chunked, or until close) through one fixed buffer, and
// what every body relay shares: how a relay ended (RelayResult) and the chunk-size line.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "proxy/net/eager_write.hpp"
#include "proxy/net/flex_stream.hpp"
#include "proxy/net/no_throw.hpp"

namespace canaryd::proxy {

/// How a relay ended: complete, or which side failed (and with what). Invalid: what was read breaks the
/// body's framing or a limit (the decoder that found it says which). `bytes`: the body's bytes relayed
/// when complete (a decoded body's data, without chunk framing), for the access log.
struct RelayResult {
  enum class Side { None, Read, Write, Invalid } failed = Side::None;
  boost::system::error_code error;
  std::uint64_t bytes = 0;
  explicit operator bool() const { return failed == Side::None; }
};

/// A parser for a response body whose head we parsed ourselves: Beast decodes the chunked coding (or
/// reads until the connection ends) after being given a minimal head with the same framing. Request
/// bodies have their own decoder (chunked_decoder.hpp).
inline void start_body_parser(boost::beast::http::response_parser<boost::beast::http::buffer_body>& parser,
                              bool chunked) {
  const std::string_view head = chunked ? std::string_view("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                                        : std::string_view("HTTP/1.1 200 OK\r\n\r\n");
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(head.data(), head.size()), ec);
}

/// Writes the chunk-size line (hex digits, CRLF) of a chunk of `size` bytes into `line`; returns its length.
inline std::size_t chunk_size_line(std::size_t size, std::span<char, 20> line) {
  static constexpr char kHex[] = "0123456789abcdef";
  char digits[16];
  std::size_t count = 0;
  for (std::size_t v = size; v != 0; v >>= 4) digits[count++] = kHex[v & 0xf];
  std::size_t n = 0;
  while (count > 0) line[n++] = digits[--count];
  line[n++] = '\r';
  line[n++] = '\n';
  return n;
}

/// Sends `head`, then the response body `parser` decodes from `in` (see start_body_parser), through `scratch`:
/// each piece is written as soon as it is read, so memory stays at one buffer whatever the body size.
/// `chunk_output`: the body is sent with the chunked coding (a new one: chunk extensions and trailers
/// are not forwarded), otherwise as it is (the connection's end marks its end). Every read and write
/// gets `timeout` as its deadline. Beast's relay pattern (example/doc/http_examples.hpp), asynchronous.
inline boost::asio::awaitable<RelayResult> relay_decoded(
    std::string_view head, boost::beast::http::response_parser<boost::beast::http::buffer_body>& parser,
    FlexStream& in, boost::beast::flat_buffer& in_buffer, FlexStream& out, std::span<char> scratch, bool chunk_output,
    std::chrono::milliseconds timeout) {
  namespace asio = boost::asio;
  namespace http = boost::beast::http;
  // The head goes out with the first piece of the body: a body whose framing is broken from its first
  // byte then sends the next hop nothing at all.
  std::string_view unsent_head = head;
  char size_line[20];
  std::uint64_t relayed = 0;
  while (!parser.is_done()) {
    auto& body = parser.get().body();
    body.data = scratch.data();
    body.size = scratch.size();
    in.tcp().expires_after(timeout);
    auto [rec, rn] = co_await http::async_read_some(in, in_buffer, parser, kNoThrow);
    if (rec == http::error::need_buffer) rec = {};
    if (rec) co_return RelayResult{RelayResult::Side::Read, rec};
    const std::size_t produced = scratch.size() - body.size;
    // A read may parse only framing (a chunk header, say): nothing to send yet.
    if (produced == 0) continue;
    relayed += produced;
    const std::size_t line = chunk_output ? chunk_size_line(produced, size_line) : 0;
    const std::array<asio::const_buffer, 4> piece{asio::buffer(unsent_head.data(), unsent_head.size()),
                                                  asio::buffer(size_line, line), asio::buffer(scratch.data(), produced),
                                                  asio::buffer("\r\n", chunk_output ? 2 : 0)};
    unsent_head = {};
    if (auto wec = co_await write_all(out, piece, timeout); wec) co_return RelayResult{RelayResult::Side::Write, wec};
  }
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";
  const std::array<asio::const_buffer, 2> last{asio::buffer(unsent_head.data(), unsent_head.size()),
                                               asio::buffer(kLastChunk.data(), chunk_output ? kLastChunk.size() : 0)};
  if (asio::buffer_size(last) > 0) {
    if (auto ec = co_await write_all(out, last, timeout); ec) co_return RelayResult{RelayResult::Side::Write, ec};
  }
  co_return RelayResult{RelayResult::Side::None, {}, relayed};
}

}  // namespace canaryd::proxy
