// The chunked request-body relay (see chunked_relay.hpp): a checker runs ahead over what has arrived, the
// decoder follows as bytes are sent re-encoded.
#include "proxy/dataplane/chunked_relay.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <boost/asio/buffer.hpp>

#include "proxy/net/eager_write.hpp"
#include "proxy/net/no_throw.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;

namespace {

std::string_view buffered(const boost::beast::flat_buffer& buffer) {
  return {static_cast<const char*>(buffer.data().data()), buffer.size()};
}

}  // namespace

asio::awaitable<RelayResult> relay_chunked(std::string_view head, ChunkedDecoder& decoder, FlexStream& in,
                                           boost::beast::flat_buffer& in_buffer, FlexStream& out,
                                           std::span<char> scratch, std::chrono::milliseconds timeout) {
  // `checker` runs ahead of `decoder` over every byte as it arrives; `decoder` follows over the same
  // bytes, as they are sent. The second pass costs little: data is skipped, not scanned.
  ChunkedDecoder checker = decoder;
  if (!in.is_tls()) {
    // What has arrived but still waits in the kernel is taken in first, without waiting, so that it
    // is checked too before anything goes out (the buffer grows only when there is something).
    boost::system::error_code ec;
    const std::size_t waiting = std::min(in.socket().available(ec), in_buffer.max_size() - in_buffer.size());
    if (!ec && waiting > 0) {
      const std::size_t n = in.socket().read_some(in_buffer.prepare(waiting), ec);
      if (!ec) in_buffer.commit(n);
    }
  }
  checker.skip(buffered(in_buffer));
  std::string_view unsent_head = head;
  char size_line[20];
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";
  std::uint64_t relayed = 0;
  for (;;) {
    if (checker.failed()) {
      decoder = checker;
      co_return RelayResult{RelayResult::Side::Invalid, {}};
    }
    // What has arrived (and was checked) becomes one chunk, as much of it as the scratch buffer holds.
    std::size_t produced = 0;
    while (produced < scratch.size() && in_buffer.size() > 0 && !decoder.done()) {
      const auto step = decoder.next(buffered(in_buffer), scratch.size() - produced);
      if (!step.data.empty()) std::memcpy(scratch.data() + produced, step.data.data(), step.data.size());
      produced += step.data.size();
      in_buffer.consume(step.consumed);
      if (decoder.failed()) co_return RelayResult{RelayResult::Side::Invalid, {}};
    }
    const bool done = decoder.done();
    relayed += produced;
    const std::size_t line = produced > 0 ? chunk_size_line(produced, size_line) : 0;
    const std::array<asio::const_buffer, 5> piece{
        asio::buffer(unsent_head.data(), unsent_head.size()), asio::buffer(size_line, line),
        asio::buffer(scratch.data(), produced), asio::buffer("\r\n", produced > 0 ? 2 : 0),
        asio::buffer(kLastChunk.data(), done ? kLastChunk.size() : 0)};
    // The head waits for the first data: a body broken before any sends the next hop nothing at all.
    if (produced > 0 || done) {
      unsent_head = {};
      if (auto ec = co_await write_all(out, piece, timeout); ec) co_return RelayResult{RelayResult::Side::Write, ec};
    }
    if (done) co_return RelayResult{RelayResult::Side::None, {}, relayed};
    if (in_buffer.size() > 0) continue;  // more than the scratch buffer held
    // Everything that had arrived is sent: the buffer is empty, so what is read now is all new.
    in.tcp().expires_after(timeout);
    auto [ec, n] = co_await in.async_read_some(in_buffer.prepare(std::min(scratch.size(), in_buffer.max_size())),
                                               kNoThrow);
    if (ec) co_return RelayResult{RelayResult::Side::Read, ec};
    in_buffer.commit(n);
    checker.skip(buffered(in_buffer));
  }
}

}  // namespace canaryd::proxy
