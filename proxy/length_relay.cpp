#include "proxy/length_relay.hpp"

#include <algorithm>
#include <array>

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>

#include "proxy/eager_write.hpp"
#include "proxy/no_throw.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr std::size_t kCopiedBody = 4096;
}

asio::awaitable<RelayResult> relay_length(std::string& head, std::uint64_t length, FlexStream& in,
                                          boost::beast::flat_buffer& in_buffer, FlexStream& out,
                                          std::span<char> scratch, std::chrono::milliseconds timeout) {
  const auto buffered = static_cast<std::size_t>(std::min<std::uint64_t>(in_buffer.size(), length));
  const char* body = static_cast<const char*>(in_buffer.data().data());
  error_code ec;
  if (buffered <= kCopiedBody) {
    // One buffer: send() rather than sendmsg(), which costs the kernel more than copying this much.
    head.append(body, buffered);
    ec = co_await write_all(out, asio::buffer(head), timeout);
  } else {
    const std::array<asio::const_buffer, 2> first{asio::buffer(head), asio::const_buffer(body, buffered)};
    ec = co_await write_all(out, first, timeout);
  }
  if (ec) co_return RelayResult{RelayResult::Side::Write, ec};
  in_buffer.consume(buffered);
  std::uint64_t left = length - buffered;
  while (left > 0) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, scratch.size()));
    in.tcp().expires_after(timeout);
    auto [rec, got] = co_await in.async_read_some(asio::buffer(scratch.data(), want), kNoThrow);
    if (rec) co_return RelayResult{RelayResult::Side::Read, rec};
    left -= got;
    if (auto wec = co_await write_all(out, asio::buffer(scratch.data(), got), timeout); wec)
      co_return RelayResult{RelayResult::Side::Write, wec};
  }
  co_return RelayResult{};
}

}  // namespace canaryd::proxy
