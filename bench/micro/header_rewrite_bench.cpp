// Header rewriting as client_session does it per request: strip_hop_by_hop + add_forwarding_fields (which
// appends Via) on the request, strip_hop_by_hop + append_via on the response. The rewrite mutates the
// message, so each iteration rewrites a fresh copy of a prepared message; BM_*Copy measures that copy
// alone (subtract it to get the rewrite itself).
#include <benchmark/benchmark.h>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>

#include "proxy/header_rewrite.hpp"

namespace {
namespace http = boost::beast::http;
using canaryd::proxy::add_forwarding_fields;
using canaryd::proxy::append_via;
using canaryd::proxy::kViaEntry;
using canaryd::proxy::strip_hop_by_hop;

// A browser-like keep-alive request behind one earlier proxy: 11 fields.
http::request<http::empty_body> browser_request() {
  http::request<http::empty_body> req{http::verb::get, "/api/v1/cart/items?limit=20", 11};
  req.set(http::field::host, "shop.example.com");
  req.set(http::field::user_agent, "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0");
  req.set(http::field::accept, "application/json, text/plain, */*");
  req.set(http::field::accept_language, "en-US,en;q=0.5");
  req.set(http::field::accept_encoding, "gzip, deflate, br");
  req.set(http::field::cookie, "session=4f2a9c1e8b7d6a5f; theme=dark; consent=1");
  req.set(http::field::referer, "https://shop.example.com/cart");
  req.set(http::field::connection, "keep-alive");
  req.set("Keep-Alive", "timeout=5");
  req.set("X-Forwarded-For", "203.0.113.7");
  req.set(http::field::via, "1.1 edge-lb");
  return req;
}

// An nginx-like response with a hop-by-hop field named in Connection.
http::response<http::empty_body> upstream_response() {
  http::response<http::empty_body> res{http::status::ok, 11};
  res.set(http::field::server, "nginx/1.22.1");
  res.set(http::field::date, "Fri, 27 Nov 2026 23:00:00 GMT");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::content_length, "612");
  res.set(http::field::last_modified, "Fri, 27 Nov 2026 22:00:00 GMT");
  res.set(http::field::connection, "keep-alive, X-Upstream-Hint");
  res.set("X-Upstream-Hint", "warm");
  res.set(http::field::etag, "\"6564a2f0-264\"");
  res.set("X-Version", "v2");
  res.set(http::field::accept_ranges, "bytes");
  return res;
}

void BM_RequestCopy(benchmark::State& st) {
  const auto proto = browser_request();
  for (auto _ : st) {
    auto req = proto;
    benchmark::DoNotOptimize(req);
  }
}
BENCHMARK(BM_RequestCopy);

void BM_RequestRewrite(benchmark::State& st) {
  const auto proto = browser_request();
  for (auto _ : st) {
    auto req = proto;
    strip_hop_by_hop(req);
    add_forwarding_fields(req, "198.51.100.23", "http", kViaEntry);
    benchmark::DoNotOptimize(req);
  }
}
BENCHMARK(BM_RequestRewrite);

void BM_ResponseCopy(benchmark::State& st) {
  const auto proto = upstream_response();
  for (auto _ : st) {
    auto res = proto;
    benchmark::DoNotOptimize(res);
  }
}
BENCHMARK(BM_ResponseCopy);

void BM_ResponseRewrite(benchmark::State& st) {
  const auto proto = upstream_response();
  for (auto _ : st) {
    auto res = proto;
    strip_hop_by_hop(res);
    append_via(res, kViaEntry);
    benchmark::DoNotOptimize(res);
  }
}
BENCHMARK(BM_ResponseRewrite);

}  // namespace
