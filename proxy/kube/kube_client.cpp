// KubeClient (see kube_client.hpp): connection and TLS, the bearer token re-read when its file changes,
// whole requests and line-by-line streams for watches.
#include "proxy/kube/kube_client.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include "proxy/net/no_throw.hpp"
#include "proxy/net/resolve.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

namespace {

std::optional<std::string> base64_decode(const std::string& in) {
  std::string out(in.size() / 4 * 3 + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  std::size_t size = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts padding as zero bytes.
  if (!in.empty() && in.back() == '=') --size;
  if (in.size() > 1 && in[in.size() - 2] == '=') --size;
  out.resize(size);
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string KubeResponse::describe() const {
  if (error) return error.message();
  std::string message;
  boost::system::error_code ec;
  auto doc = boost::json::parse(body, ec);
  if (!ec && doc.is_object()) {
    if (auto* m = doc.get_object().if_contains("message"); m && m->is_string()) message = m->get_string().c_str();
  }
  return "status " + std::to_string(status) + (message.empty() ? "" : ": " + message);
}

Result<std::unique_ptr<KubeClient>> KubeClient::create(const config::KubeApiAccess& access) {
  auto url = boost::urls::parse_uri(access.server);
  if (!url || (url->scheme() != "https" && url->scheme() != "http") || url->host().empty())
    return fail("the API server \"" + access.server + "\" is not an http(s)://host:port URL");
  std::unique_ptr<KubeClient> c(new KubeClient());
  c->server_ = access.server;
  const bool tls = url->scheme() == "https";
  c->host_.host = url->host_address();
  if (c->host_.host.size() > 1 && c->host_.host.front() == '[') c->host_.host = c->host_.host.substr(1, c->host_.host.size() - 2);
  c->host_.port = url->has_port() ? url->port_number() : (tls ? 443 : 80);
  c->base_path_ = url->encoded_path();
  while (!c->base_path_.empty() && c->base_path_.back() == '/') c->base_path_.pop_back();
  if (tls) {
    std::string ca_pem;
    if (access.ca_file.empty() && !access.ca_data_base64.empty()) {
      auto decoded = base64_decode(access.ca_data_base64);
      if (!decoded) return fail("certificate-authority-data is not base64");
      ca_pem = std::move(*decoded);
    }
    auto client_tls = make_client_tls(access.ca_file, ca_pem, c->host_.host);
    if (!client_tls) return fail(std::move(client_tls).error());
    c->tls_ = std::move(*client_tls);
  }
  c->token_ = access.token;
  c->token_file_ = access.token_file;
  return c;
}

std::string KubeClient::authorization() {
  if (!token_file_.empty()) {
    // Re-read only when the file changed: the kubelet rotates projected tokens by replacing the file.
    std::error_code ec;
    auto mtime = std::filesystem::last_write_time(token_file_, ec);
    if (!ec && (!token_mtime_ || *token_mtime_ != mtime)) {
      token_ = read_file(token_file_);
      token_mtime_ = mtime;
    }
  }
  return token_.empty() ? std::string() : "Bearer " + token_;
}

asio::awaitable<std::unique_ptr<FlexStream>> KubeClient::connect(std::chrono::milliseconds timeout, error_code& ec) {
  auto endpoint = resolve_host_port(host_);
  if (!endpoint) {
    ec = asio::error::host_not_found;
    co_return nullptr;
  }
  auto stream = std::make_unique<FlexStream>(co_await asio::this_coro::executor);
  stream->tcp().expires_after(timeout);
  auto [cec] = co_await stream->tcp().async_connect(*endpoint, kNoThrow);
  if (cec) {
    ec = cec;
    co_return nullptr;
  }
  if (tls_) {
    stream->start_tls(*tls_->context);
    if (!prepare_upstream_tls(stream->tls().native_handle(), *tls_)) {
      ec = asio::ssl::error::unspecified_system_error;
      co_return nullptr;
    }
    stream->tcp().expires_after(timeout);
    auto [hec] = co_await stream->tls().async_handshake(asio::ssl::stream_base::client, kNoThrow);
    if (hec) {
      ec = hec;
      co_return nullptr;
    }
  }
  co_return stream;
}

http::request<http::string_body> KubeClient::make_request(http::verb method, const std::string& target,
                                                          std::string body) {
  http::request<http::string_body> req{method, base_path_ + target, 11};
  req.set(http::field::host, host_.to_string());
  req.set(http::field::user_agent, "canaryd");
  req.set(http::field::accept, "application/json");
  if (auto auth = authorization(); !auth.empty()) req.set(http::field::authorization, auth);
  if (!body.empty() || method == http::verb::put || method == http::verb::post) {
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
    req.prepare_payload();
  }
  req.keep_alive(false);
  return req;
}

asio::awaitable<std::unique_ptr<FlexStream>> KubeClient::send(http::verb method, const std::string& target,
                                                             std::string body, std::chrono::milliseconds timeout,
                                                             error_code& ec) {
  auto stream = co_await connect(timeout, ec);
  if (!stream) co_return nullptr;
  auto req = make_request(method, target, std::move(body));
  stream->tcp().expires_after(timeout);
  auto [wec, wn] = co_await http::async_write(*stream, req, kNoThrow);
  if (wec) {
    ec = wec;
    co_return nullptr;
  }
  co_return stream;
}

asio::awaitable<KubeResponse> KubeClient::request(http::verb method, std::string target, std::string body,
                                                  std::chrono::milliseconds timeout) {
  KubeResponse out;
  auto stream = co_await send(method, target, std::move(body), timeout, out.error);
  if (!stream) co_return out;
  out.sent = true;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBody);
  auto [rec, rn] = co_await http::async_read(*stream, buffer, parser, kNoThrow);
  if (rec) {
    out.error = rec;
    co_return out;
  }
  out.status = parser.get().result_int();
  out.body = std::move(parser.get().body());
  error_code ignored;
  stream->socket().close(ignored);
  co_return out;
}

asio::awaitable<KubeResponse> KubeClient::stream_lines(std::string target, std::function<void(int)> on_open,
                                                       std::function<bool(std::string_view)> on_line,
                                                       std::chrono::milliseconds connect_timeout,
                                                       std::chrono::milliseconds idle) {
  KubeResponse out;
  auto stream = co_await send(http::verb::get, target, {}, connect_timeout, out.error);
  if (!stream) co_return out;
  streams_->push_back(stream.get());
  struct Unregister {
    std::weak_ptr<std::vector<FlexStream*>> list;
    FlexStream* s;
    ~Unregister() {
      if (auto l = list.lock()) std::erase(*l, s);
    }
  } unregister{streams_, stream.get()};

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  stream->tcp().expires_after(idle);
  auto [hec, hn] = co_await http::async_read_header(*stream, buffer, parser, kNoThrow);
  if (hec) {
    out.error = hec;
    co_return out;
  }
  out.status = parser.get().result_int();
  if (on_open) on_open(out.status);
  char chunk[16 * 1024];
  std::string pending;
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    stream->tcp().expires_after(idle);
    auto [ec, n] = co_await http::async_read_some(*stream, buffer, parser, kNoThrow);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      out.error = ec;
      break;
    }
    const std::size_t produced = sizeof chunk - parser.get().body().size;
    if (out.status != 200) {
      if (out.body.size() + produced > kMaxBody) break;
      out.body.append(chunk, produced);
      continue;
    }
    pending.append(chunk, produced);
    if (pending.size() > kMaxBody) {
      out.error = http::error::body_limit;  // one event line larger than any object the API stores
      break;
    }
    std::size_t start = 0;
    for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (nl > start && !on_line(std::string_view(pending).substr(start, nl - start))) {
        pending.clear();
        error_code ignored;
        stream->socket().close(ignored);
        co_return out;
      }
    }
    pending.erase(0, start);
  }
  error_code ignored;
  stream->socket().close(ignored);
  co_return out;
}

Result<std::unique_ptr<KubeClient>> make_kube_client(const config::KubernetesDiscovery& d) {
  auto access = config::kube_api_access(d, config::serviceaccount_dir());
  if (!access) return fail(std::move(access).error());
  return KubeClient::create(*access);
}

void KubeClient::close_streams() {
  for (auto* s : *streams_) {
    error_code ignored;
    s->socket().close(ignored);
  }
}

}  // namespace canaryd::proxy
