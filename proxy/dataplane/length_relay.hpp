// Relaying a body of known length (Content-Length), in either direction, with no parser involved: the
// common case, which costs one write when the body is small.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "proxy/dataplane/body_relay.hpp"
#include "proxy/net/flex_stream.hpp"
#include "proxy/dataplane/request_scratch.hpp"
#include "proxy/net/pipe_pool.hpp"

namespace canaryd::proxy {

/// What every Content-Length relay of a worker may borrow: its one copying buffer and its pipes.
struct SharedRelay {
  std::span<char> buffer;  ///< used only between two calls that do not wait
  PipePool& pipes;
};

/// Sends `head` (a serialized start line and fields) and then exactly `length` body bytes from `in`:
/// first those already read into `in_buffer` (consumed from it; bytes past the body stay there), in
/// the same write as the head (a few KiB of them are appended to `head`, so that the write is one
/// contiguous send), then the rest as it arrives. On plain connections, at least kSpliceFrom bytes of
/// it go through one of `shared`'s pipes with splice() (splice_relay.hpp), fewer (or all, when no pipe
/// can be made) through `shared`'s buffer; otherwise, or when nothing has arrived yet, through the
/// request's own `scratch`. For a body with Content-Length the bytes need no re-framing,
/// so neither parser nor serializer is involved and a small response costs one write. Every read and
/// write gets `timeout` as its deadline.
boost::asio::awaitable<RelayResult> relay_length(std::string& head, std::uint64_t length, FlexStream& in,
                                                 boost::beast::flat_buffer& in_buffer, FlexStream& out,
                                                 RequestScratch& scratch, SharedRelay shared,
                                                 std::chrono::milliseconds timeout);

}  // namespace canaryd::proxy
