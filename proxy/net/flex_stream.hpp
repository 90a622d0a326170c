// FlexStream: one connection type for plain TCP and TLS, chosen when the connection is made, used by both
// client sessions and upstream connections.
#pragma once

#include <utility>
#include <variant>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace canaryd::proxy {

/// A connection that is plain TCP or TLS over TCP, decided when it is made. The client session and the
/// upstream pool use one type for both, so the request path has one copy: a branch per I/O call costs
/// less than a second instantiation of the session (CRTP) and needs no virtual call. Deadlines and
/// socket options always go to the TCP layer underneath.
class FlexStream {
 public:
  using TcpStream = boost::beast::tcp_stream;
  using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  using executor_type = TcpStream::executor_type;

  /// Plain, over an accepted socket.
  explicit FlexStream(boost::asio::ip::tcp::socket&& socket) : stream_(std::in_place_type<TcpStream>, std::move(socket)) {}
  /// TLS over an accepted or connected socket; the handshake is still to be done.
  FlexStream(boost::asio::ip::tcp::socket&& socket, boost::asio::ssl::context& tls)
      : stream_(std::in_place_type<TlsStream>, std::move(socket), tls) {}
  /// Plain and not yet connected (an upstream connection: connect through tcp(), then start_tls()).
  explicit FlexStream(const executor_type& executor) : stream_(std::in_place_type<TcpStream>, executor) {}

  /// Turns a connected plain stream into TLS over the same socket; a deadline set before is dropped.
  void start_tls(boost::asio::ssl::context& tls) {
    boost::asio::ip::tcp::socket socket = std::move(std::get<TcpStream>(stream_).socket());
    stream_.emplace<TlsStream>(std::move(socket), tls);
  }

  bool is_tls() const { return std::holds_alternative<TlsStream>(stream_); }
  /// The TLS layer (handshake, shutdown, SSL*); only when is_tls().
  TlsStream& tls() { return std::get<TlsStream>(stream_); }
  /// The TCP layer: deadlines (`expires_after`), `socket()` options, cancel and close.
  TcpStream& tcp() {
    if (auto* t = std::get_if<TlsStream>(&stream_)) return t->next_layer();
    return std::get<TcpStream>(stream_);
  }
  boost::asio::ip::tcp::socket& socket() { return tcp().socket(); }

  executor_type get_executor() { return tcp().get_executor(); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    if (auto* t = std::get_if<TlsStream>(&stream_)) return t->async_read_some(buffers, std::forward<Token>(token));
    return std::get<TcpStream>(stream_).async_read_some(buffers, std::forward<Token>(token));
  }

  /// Like async_read_some, but a plain connection reads from the socket itself, outside the TCP
  /// stream's deadline (the caller keeps its own) and with one buffer: recv() instead of recvmsg(), and
  /// no timer per read.
  template <class Token>
  auto async_read_some_untimed(const boost::asio::mutable_buffer& buffer, Token&& token) {
    if (auto* t = std::get_if<TlsStream>(&stream_)) return t->async_read_some(buffer, std::forward<Token>(token));
    return std::get<TcpStream>(stream_).socket().async_read_some(buffer, std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    if (auto* t = std::get_if<TlsStream>(&stream_)) return t->async_write_some(buffers, std::forward<Token>(token));
    return std::get<TcpStream>(stream_).async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  std::variant<TcpStream, TlsStream> stream_;
};

}  // namespace canaryd::proxy
