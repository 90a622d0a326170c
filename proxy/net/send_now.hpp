// send_now: what a connected socket takes at once, never waiting, whatever mode its descriptor is in.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstddef>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

namespace canaryd::proxy {

/// Writes what `socket` takes now of `buffers` (their first 64 pieces, as Asio's write_some) and
/// returns how much; a full socket buffer is asio::error::would_block with nothing written.
/// MSG_DONTWAIT rather than the descriptor's non-blocking mode: under Asio's io_uring backend
/// (CANARYD_IO_URING, docs/io_uring.md) a non-blocking descriptor turns every read that has to wait
/// into a failed attempt, a poll and a second read, so there the sockets stay blocking.
template <class ConstBuffers>
std::size_t send_now(boost::asio::ip::tcp::socket& socket, const ConstBuffers& buffers,
                     boost::system::error_code& ec) {
  constexpr std::size_t kMaxPieces = 64;
  iovec pieces[kMaxPieces];
  std::size_t count = 0;
  std::size_t total = 0;
  for (auto it = boost::asio::buffer_sequence_begin(buffers), end = boost::asio::buffer_sequence_end(buffers);
       it != end && count < kMaxPieces; ++it) {
    const boost::asio::const_buffer piece(*it);
    if (piece.size() == 0) continue;
    pieces[count++] = iovec{const_cast<void*>(piece.data()), piece.size()};
    total += piece.size();
  }
  ec = {};
  if (total == 0) return 0;
  msghdr message{};
  message.msg_iov = pieces;
  message.msg_iovlen = count;
  for (;;) {
    const ssize_t sent = ::sendmsg(socket.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent >= 0) return static_cast<std::size_t>(sent);
    if (errno == EINTR) continue;
    ec = (errno == EAGAIN || errno == EWOULDBLOCK) ? make_error_code(boost::asio::error::would_block)
                                                    : boost::system::error_code(errno, boost::asio::error::get_system_category());
    return 0;
  }
}

}  // namespace canaryd::proxy
