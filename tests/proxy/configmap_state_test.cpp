// Tests of the ConfigMap state backend's asynchronous writes against a scripted API server on a loopback
// socket: what a write sends when the watch moves on while it waits to go out, and how a write whose answer
// was lost is decided.
#include "proxy/kube/configmap_state.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "proxy/net/no_throw.hpp"
#include "tests/weights/test_support.hpp"

namespace canaryd::proxy {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace json = boost::json;
using asio::ip::tcp;
using SaveResult = weights::test_support::SaveOutcome;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

/// An API server that takes one request per connection (as KubeClient sends them), records it, and answers
/// what the script says: nullopt closes the connection without an answer.
class ScriptedApi {
 public:
  using Script = std::function<std::optional<Response>(const Request&)>;

  ScriptedApi(asio::io_context& io, Script script)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), script_(std::move(script)) {
    asio::co_spawn(io, serve(), asio::detached);
  }
  ~ScriptedApi() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }

  std::vector<Request> requests;

 private:
  asio::awaitable<void> serve() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
      if (ec) co_return;
      boost::beast::flat_buffer buffer;
      Request req;
      auto [rec, n] = co_await http::async_read(socket, buffer, req, kNoThrow);
      if (rec) continue;
      requests.push_back(req);
      if (auto res = script_(req)) {
        res->prepare_payload();
        co_await http::async_write(socket, *res, kNoThrow);
      }
      boost::system::error_code ignored;
      socket.close(ignored);
    }
  }

  tcp::acceptor acceptor_;
  Script script_;
};

/// The ConfigMap a PUT carried, stored at `resource_version`.
Response stored(const Request& put, const std::string& resource_version) {
  json::value cm = json::parse(put.body());
  cm.as_object()["metadata"].as_object()["resourceVersion"] = resource_version;
  Response res{http::status::ok, 11};
  res.body() = json::serialize(cm);
  return res;
}

weights::RoutingHistory history_at(std::uint64_t revision) {
  weights::RoutingState s;
  s.revision = revision;
  s.stable = weights::test_support::sel("version=v1");
  s.canary = weights::test_support::sel("version=v2");
  s.cause = "revision " + std::to_string(revision);
  s.time = weights::test_support::at(static_cast<int>(revision));
  return weights::RoutingHistory(s, 10);
}

class ConfigMapStateTest : public ::testing::Test {
 protected:
  void start(ScriptedApi::Script script) {
    api_.emplace(io_, std::move(script));
    auto client = KubeClient::create(config::KubeApiAccess{api_->url(), "", "", "", ""});
    ASSERT_TRUE(client) << client.error().message;
    backend_.emplace(io_, std::move(*client), "web", "canaryd-state");
  }

  /// Saves `h` asynchronously and runs the loop until the save completes.
  std::pair<SaveResult, std::string> save(const weights::RoutingHistory& h,
                                          const std::function<void()>& meanwhile = {}) {
    std::optional<std::pair<SaveResult, std::string>> out;
    backend_->async_save(h, [&out](weights::SaveResult r) {
      out.emplace(weights::test_support::outcome_of(r), weights::test_support::message_of(r));
    });
    EXPECT_FALSE(out.has_value()) << "completed before the API server could answer";
    if (meanwhile) meanwhile();
    for (int i = 0; i < 1000 && !out; ++i) io_.run_one_for(std::chrono::milliseconds(100));
    EXPECT_TRUE(out.has_value()) << "the save never completed";
    return out.value_or(std::pair{SaveResult::Failed, std::string("never completed")});
  }

  asio::io_context io_;
  std::optional<ScriptedApi> api_;
  std::optional<ConfigMapStateBackend> backend_;
};

TEST_F(ConfigMapStateTest, AWriteIsConditionalOnTheVersionTakenWithItsHistory) {
  start([](const Request& req) { return stored(req, "106"); });
  backend_->observed("100", 1);
  // Between the call and the write going out, the watch delivers another replica's revision 2 at version
  // 105. Our history does not contain it: the PUT must still name version 100, and conflict.
  const auto [result, error] = save(history_at(2), [&] { backend_->observed("105", 2); });
  EXPECT_EQ(result, SaveResult::Saved) << error;
  ASSERT_EQ(api_->requests.size(), 1u);
  EXPECT_EQ(api_->requests[0].method(), http::verb::put);
  EXPECT_EQ(json::parse(api_->requests[0].body()).at("metadata").at("resourceVersion"), "100");
}

TEST_F(ConfigMapStateTest, AWriteWhoseAnswerWasLostIsDecidedByReadingBack) {
  std::optional<Request> applied;  // what the API server stored before it lost the answer
  bool apply = true;
  start([&](const Request& req) -> std::optional<Response> {
    if (req.method() == http::verb::put) {
      if (apply) applied = req;
      return std::nullopt;
    }
    return stored(applied ? *applied : Request{}, "200");
  });
  backend_->observed("100", 1);
  auto [result, message] = save(history_at(2));
  EXPECT_EQ(result, SaveResult::Saved) << message;
  ASSERT_EQ(api_->requests.size(), 2u);
  EXPECT_EQ(api_->requests[1].method(), http::verb::get);

  // The next write builds on the version read back; this one is lost and not applied.
  apply = false;
  std::tie(result, message) = save(history_at(3));
  EXPECT_EQ(result, SaveResult::Failed);
  EXPECT_NE(message.find("not written"), std::string::npos) << message;
  ASSERT_EQ(api_->requests.size(), 4u);
  EXPECT_EQ(json::parse(api_->requests[2].body()).at("metadata").at("resourceVersion"), "200");
}

}  // namespace
}  // namespace canaryd::proxy
