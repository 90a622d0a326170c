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

namespace canaryd::proxy {

/// Sends `head` (a serialized start line and fields) and then exactly `length` body bytes from `in`:
/// first those already read into `in_buffer` (consumed from it; bytes past the body stay there), in
/// the same write as the head (a few KiB of them are appended to `head`, so that the write is one
/// contiguous send), then the rest as it arrives: on plain connections through `shared` (the worker's
/// buffer, used only between two calls that do not wait), otherwise, or when nothing has arrived yet,
/// through the request's own `scratch`. For a body with Content-Length the bytes need no re-framing,
/// so neither parser nor serializer is involved and a small response costs one write. Every read and
/// write gets `timeout` as its deadline.
boost::asio::awaitable<RelayResult> relay_length(std::string& head, std::uint64_t length, FlexStream& in,
                                                 boost::beast::flat_buffer& in_buffer, FlexStream& out,
                                                 RequestScratch& scratch, std::span<char> shared,
                                                 std::chrono::milliseconds timeout);

}  // namespace canaryd::proxy
