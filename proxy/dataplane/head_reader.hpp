// Reading one header block (request or response) from a connection into its buffer, bounded in size and
// time, with the end of stream told apart from a torn head.
#pragma once

#include <chrono>
#include <cstddef>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "proxy/dataplane/read_deadlines.hpp"
#include "proxy/net/flex_stream.hpp"

namespace canaryd::proxy {

struct HeadRead {
  boost::system::error_code error;
  std::size_t size = 0;  ///< of the header block at the start of the buffer, CRLF CRLF included
};

/// One read of what `in` has, up to the size of `into`, with `timeout` as its deadline: on a plain
/// connection with `deadlines`, through the worker's list (one system call, recv, and no timer of its
/// own); otherwise through the stream's own timer. A read past its deadline ends with beast's timeout.
boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_some_within(
    FlexStream& in, boost::asio::mutable_buffer into, std::chrono::milliseconds timeout, ReadDeadlines* deadlines);

/// Reads from `in` into `buffer` until the buffer starts with a complete header block; bytes after it
/// stay in the buffer. Errors, as Beast names them: end_of_stream when the connection ended before any
/// byte, partial_message when it ended inside the block, header_limit when the block exceeds `limit`
/// bytes; timeout when a read waited longer than `timeout` (each read as read_some_within's).
boost::asio::awaitable<HeadRead> read_head_block(FlexStream& in, boost::beast::flat_buffer& buffer, std::size_t limit,
                                                 std::chrono::milliseconds timeout,
                                                 ReadDeadlines* deadlines = nullptr);

}  // namespace canaryd::proxy
