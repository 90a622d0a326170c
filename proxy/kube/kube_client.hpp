// canaryd's small Kubernetes API client: one HTTP/1.1 connection per call over verified TLS, whole answers
// or streamed watch lines, and its construction from the config's discovery settings.
#pragma once

#include <chrono>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include "config/kubeconfig.hpp"
#include "config/result.hpp"
#include "proxy/net/flex_stream.hpp"
#include "proxy/net/tls_context.hpp"

namespace canaryd::proxy {

/// An answer of the API server, or the transport error that prevented one.
struct KubeResponse {
  boost::system::error_code error;  ///< connect, TLS, timeout or a broken stream
  /// The whole request was written: after an error from here on, the server may have acted on it.
  bool sent = false;
  int status = 0;
  std::string body;
  bool ok() const { return !error && status >= 200 && status < 300; }
  /// "status 409: <message of the Status object>" or the transport error, for logs and API errors.
  std::string describe() const;
};

/// A small client of the Kubernetes API over HTTP/1.1: one connection per call, TLS verified against
/// the cluster's CA, a bearer token re-read whenever its file changes (projected service-account tokens
/// rotate). Calls run on the caller's executor. Main thread only.
class KubeClient {
 public:
  /// Fails when the server URL or the CA cannot be used.
  static Result<std::unique_ptr<KubeClient>> create(const config::KubeApiAccess& access);

  /// One request; the whole answer is read (at most kMaxBody bytes).
  boost::asio::awaitable<KubeResponse> request(boost::beast::http::verb method, std::string target, std::string body,
                                               std::chrono::milliseconds timeout);

  /// A streaming GET (a watch): `on_open` gets the status once the header has arrived, `on_line`
  /// every newline-terminated line of a 200 answer as it arrives (false stops). Returns when the
  /// stream ends, fails, stops, or goes silent for `idle`. A non-200 answer is returned whole.
  boost::asio::awaitable<KubeResponse> stream_lines(std::string target, std::function<void(int)> on_open,
                                                    std::function<bool(std::string_view)> on_line,
                                                    std::chrono::milliseconds connect_timeout,
                                                    std::chrono::milliseconds idle);

  /// Ends every open stream at once (stop).
  void close_streams();

  const std::string& server() const { return server_; }

  static constexpr std::size_t kMaxBody = 16 * 1024 * 1024;

 private:
  KubeClient() = default;
  boost::asio::awaitable<std::unique_ptr<FlexStream>> connect(std::chrono::milliseconds timeout,
                                                              boost::system::error_code& ec);
  /// Connects and writes one request; null (with `ec`) when either fails.
  boost::asio::awaitable<std::unique_ptr<FlexStream>> send(boost::beast::http::verb method, const std::string& target,
                                                           std::string body, std::chrono::milliseconds timeout,
                                                           boost::system::error_code& ec);
  std::string authorization();
  boost::beast::http::request<boost::beast::http::string_body> make_request(boost::beast::http::verb method,
                                                                            const std::string& target,
                                                                            std::string body);

  std::string server_;
  config::HostPort host_;
  std::string base_path_;
  std::shared_ptr<UpstreamTls> tls_;  ///< null: plain http (tests, or a local proxy)
  std::string token_;
  std::string token_file_;
  std::optional<std::filesystem::file_time_type> token_mtime_;
  /// Open streams, for close_streams(). Shared so that a stream's coroutine frame, destroyed with the
  /// io_context after this client, does not touch a destroyed client.
  std::shared_ptr<std::vector<FlexStream*>> streams_ = std::make_shared<std::vector<FlexStream*>>();
};

/// Runs `op` to completion on a private io_context, blocking the calling thread: for start-up, before the
/// main thread's event loop runs. The coroutines of this client report errors as values, never throw.
template <class T>
T run_blocking(boost::asio::awaitable<T> op) {
  boost::asio::io_context io;
  std::optional<T> result;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T r) {
    failure = e;
    if (!e) result = std::move(r);
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return std::move(*result);
}

/// The client discovery and the shared state use: from `kubeconfig` when set, else in-cluster (with
/// `api_server` instead of the KUBERNETES_SERVICE_* address when set); the error says why it cannot be
/// built.
Result<std::unique_ptr<KubeClient>> make_kube_client(const config::KubernetesDiscovery& d);

}  // namespace canaryd::proxy
