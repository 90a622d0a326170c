// The informer loop (see kube_list_watch.hpp): list, watch with bookmarks, resume or relist, back off while
// the API server is unreachable.
#include "proxy/kube/kube_list_watch.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/parse.hpp>

#include "proxy/net/log.hpp"
#include "proxy/net/no_throw.hpp"

namespace canaryd::proxy {
namespace asio = boost::asio;
namespace http = boost::beast::http;

KubeListWatch::KubeListWatch(asio::io_context& io, KubeClient& client, std::string what, Handlers handlers)
    : io_(io), client_(client), what_(std::move(what)), handlers_(std::move(handlers)), backoff_timer_(io) {}

void KubeListWatch::start(std::string path, std::string get_one) {
  stop();
  running_ = true;
  synced_ = false;
  asio::co_spawn(io_, run(++generation_, std::move(path), std::move(get_one)), asio::detached);
}

void KubeListWatch::stop() {
  running_ = false;
  ++generation_;
  backoff_timer_.cancel();
  client_.close_streams();
}

void KubeListWatch::set_reachable(bool reachable, const std::string& why) {
  reachable_ = reachable;
  if (reported_ && *reported_ == reachable) return;
  reported_ = reachable;
  if (reachable)
    log_line("kubernetes: API " + client_.server() + " reachable (" + what_ + ")");
  else
    log_line("kubernetes: API " + client_.server() + " unreachable for " + what_ + " (" + why +
             "); keeping what is known, retrying");
}

asio::awaitable<void> KubeListWatch::run(std::uint64_t generation, std::string path, std::string get_one) {
  auto backoff = kMinBackoff;
  bool need_list = true;
  int expired_in_a_row = 0;
  auto wait_backoff = [&]() -> asio::awaitable<void> {
    backoff_timer_.expires_after(backoff);
    co_await backoff_timer_.async_wait(kNoThrow);
    backoff = std::min(backoff * 2, kMaxBackoff);
  };
  while (live(generation)) {
    if (need_list) {
      KubeResponse r = co_await client_.request(http::verb::get, get_one.empty() ? path : get_one, "", kRequestTimeout);
      if (!live(generation)) co_return;
      if (auto taken = take_list(r, !get_one.empty()); !taken) {
        set_reachable(false, taken.error().message);
        co_await wait_backoff();
        continue;
      }
      ++lists_;
      synced_ = true;
      need_list = false;
      backoff = kMinBackoff;
      set_reachable(true, "");
    }
    const WatchEnd end = co_await watch(generation, path, backoff);
    if (!live(generation)) co_return;
    if (end.expired || end.response.status == 410) {
      log_line("kubernetes: resourceVersion " + handlers_.resource_version() + " of " + what_ +
               " expired (410 Gone); relisting");
      need_list = true;
      // A list that keeps leading to 410 must not turn into a busy loop against the API server.
      if (++expired_in_a_row > 1) co_await wait_backoff();
      continue;
    }
    expired_in_a_row = 0;
    if (end.invalid) {
      need_list = true;
      co_await wait_backoff();
      continue;
    }
    if (end.response.status == 200 && !end.response.error) {
      // The server ended the watch (timeoutSeconds): resume from the last resourceVersion at once.
      backoff = kMinBackoff;
      set_reachable(true, "");
      continue;
    }
    if (end.response.status != 200) set_reachable(false, end.response.describe());
    // Not reachable, or the stream broke after it had started (the API server restarting, say).
    co_await wait_backoff();
  }
}

Result<void> KubeListWatch::take_list(const KubeResponse& r, bool one_object) {
  if (!r.ok() && !(one_object && !r.error && r.status == 404)) return fail(r.describe());
  boost::system::error_code ec;
  auto doc = r.status == 404 ? boost::json::value() : boost::json::parse(r.body, ec);
  if (ec) return fail("a list that cannot be read: " + ec.message());
  if (auto taken = handlers_.on_list(doc); !taken) return fail("a list that cannot be read: " + taken.error().message);
  return {};
}

asio::awaitable<KubeListWatch::WatchEnd> KubeListWatch::watch(std::uint64_t generation, const std::string& path,
                                                              std::chrono::milliseconds& backoff) {
  std::string target = path + (path.find('?') == std::string::npos ? "?" : "&") +
                       "watch=1&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(kWatchSeconds);
  // Without a version (nothing listed), the watch starts from now.
  if (const std::string rv = handlers_.resource_version(); !rv.empty()) target += "&resourceVersion=" + rv;
  WatchEnd end;
  end.response = co_await client_.stream_lines(
      target,
      [&](int status) {
        if (status == 200 && live(generation)) {
          backoff = kMinBackoff;
          set_reachable(true, "");
        }
      },
      [&](std::string_view line) {
        if (!live(generation)) return false;
        boost::system::error_code ec;
        auto doc = boost::json::parse(line, ec);
        auto result = ec ? Result<EventResult>(fail(ec.message())) : handlers_.on_event(doc);
        if (!result) {
          log_line("kubernetes: a watch event of " + what_ + " that cannot be read (" + result.error().message +
                   "); relisting");
          end.invalid = true;
          return false;
        }
        if (*result == EventResult::Expired) end.expired = true;
        return *result == EventResult::Applied;
      },
      kRequestTimeout, std::chrono::seconds(kWatchSeconds + 30));
  co_return end;
}

}  // namespace canaryd::proxy
