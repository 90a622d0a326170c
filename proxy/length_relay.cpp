#include "proxy/length_relay.hpp"

#include <algorithm>
#include <array>

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>

#include "proxy/no_throw.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;

asio::awaitable<RelayResult> relay_length(std::string_view head, std::uint64_t length, FlexStream& in,
                                          boost::beast::flat_buffer& in_buffer, FlexStream& out,
                                          std::span<char> scratch, std::chrono::milliseconds timeout) {
  const auto buffered = static_cast<std::size_t>(std::min<std::uint64_t>(in_buffer.size(), length));
  const std::array<asio::const_buffer, 2> first{asio::buffer(head), asio::const_buffer(in_buffer.data().data(), buffered)};
  out.tcp().expires_after(timeout);
  if (auto [ec, n] = co_await asio::async_write(out, first, kNoThrow); ec)
    co_return RelayResult{RelayResult::Side::Write, ec};
  in_buffer.consume(buffered);
  std::uint64_t left = length - buffered;
  while (left > 0) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, scratch.size()));
    in.tcp().expires_after(timeout);
    auto [rec, got] = co_await in.async_read_some(asio::buffer(scratch.data(), want), kNoThrow);
    if (rec) co_return RelayResult{RelayResult::Side::Read, rec};
    left -= got;
    out.tcp().expires_after(timeout);
    if (auto [wec, n] = co_await asio::async_write(out, asio::buffer(scratch.data(), got), kNoThrow); wec)
      co_return RelayResult{RelayResult::Side::Write, wec};
  }
  co_return RelayResult{};
}

}  // namespace canaryd::proxy
