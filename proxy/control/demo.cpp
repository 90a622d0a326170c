// The `--demo` upstreams and config (see demo.hpp).
#include "proxy/control/demo.hpp"

#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "proxy/net/no_throw.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

asio::awaitable<void> serve_demo(tcp::socket socket, std::string version, unsigned short port) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(1 << 20);
    stream.expires_after(std::chrono::seconds(60));
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    if (ec) break;
    const auto& req = parser.get();
    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain");
    res.set("X-Version", version);
    res.set("X-Endpoint", std::to_string(port));
    res.body() = "hello from " + version + " on 127.0.0.1:" + std::to_string(port) + "\n";
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(stream, res, kNoThrow);
    if (wec || !res.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace

struct DemoUpstreams::Impl {
  struct Upstream {
    std::unique_ptr<tcp::acceptor> acceptor;
    std::string version;
    unsigned short port = 0;
  };
  std::vector<Upstream> upstreams;
};

DemoUpstreams::DemoUpstreams(asio::io_context& io) : impl_(std::make_unique<Impl>()) {
  for (const char* version : {"v1", "v1", "v1", "v2"}) {
    Impl::Upstream up;
    up.acceptor = std::make_unique<tcp::acceptor>(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    up.version = version;
    up.port = up.acceptor->local_endpoint().port();
    auto* acceptor = up.acceptor.get();
    asio::co_spawn(
        io,
        [acceptor, version = up.version, port = up.port]() -> asio::awaitable<void> {
          for (;;) {
            auto [ec, socket] = co_await acceptor->async_accept(kNoThrow);
            if (ec) co_return;
            asio::co_spawn(acceptor->get_executor(), serve_demo(std::move(socket), version, port), asio::detached);
          }
        },
        asio::detached);
    impl_->upstreams.push_back(std::move(up));
  }
}

DemoUpstreams::~DemoUpstreams() {
  for (auto& up : impl_->upstreams) {
    beast::error_code ignored;
    up.acceptor->close(ignored);
  }
}

config::Config DemoUpstreams::make_config(const std::string& state_dir) const {
  config::Config cfg;
  cfg.source = "<demo>";
  // HTTP/2 with prior knowledge too, so that `curl --http2-prior-knowledge` can be tried on the demo.
  cfg.listen.push_back({config::HostPort{"127.0.0.1", 8080}, std::nullopt, true});
  cfg.threads = 2;
  cfg.control.address = config::HostPort{"127.0.0.1", 9901};
  cfg.state_file = state_dir + "/canaryd-demo-state.json";
  for (const auto& up : impl_->upstreams)
    cfg.endpoints.push_back({config::HostPort{"127.0.0.1", up.port}, {{"name", "nginx"}, {"version", up.version}}, std::nullopt, ""});
  cfg.service.selector = config::Selector::from_labels({{"name", "nginx"}});
  cfg.service.stable = config::Selector::from_labels({{"version", "v1"}});
  cfg.service.canary = config::Selector::from_labels({{"version", "v2"}});
  cfg.service.canary_weight = 1000;
  return cfg;
}

}  // namespace canaryd::proxy
