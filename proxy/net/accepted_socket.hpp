// Accepting a client connection into Asio without the system calls Asio would otherwise spend on it.
#pragma once

#include <boost/asio/ip/tcp.hpp>

namespace canaryd::proxy {

/// Accepts one connection queued on `acceptor` (which must be in non-blocking mode) into `socket`, without
/// waiting: would_block when none is queued. Costs accept4 and the epoll registration and nothing more:
/// the descriptor is non-blocking from accept4 (no ioctl), TCP_NODELAY comes from the listener (Linux
/// copies it to accepted sockets; see set_listener_options), and Asio is told the descriptor is its own,
/// not possibly a dup of another, so that closing it lets the kernel drop it from epoll (Asio otherwise
/// spends an EPOLL_CTL_DEL on every assigned descriptor's close).
void accept_own(boost::asio::ip::tcp::acceptor& acceptor, boost::asio::ip::tcp::socket& socket,
                boost::asio::ip::tcp::endpoint& peer, boost::system::error_code& ec);

/// What accepted sockets inherit: TCP_NODELAY (every client connection has it). Throws
/// boost::system::system_error.
void set_listener_options(boost::asio::ip::tcp::acceptor& acceptor);

}  // namespace canaryd::proxy
