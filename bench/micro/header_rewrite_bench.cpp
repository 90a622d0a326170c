// Header handling as client_session does it per request, on raw header blocks: the request is checked
// and parsed (check_request_head) and its upstream head written (write_upstream_request); the
// upstream's response is parsed (parse_response_head) and the client's head written
// (write_client_response). Output strings are reused across iterations, as the session reuses its own.
#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

#include "proxy/http/head_rewrite.hpp"
#include "proxy/http/request_validator.hpp"
#include "proxy/http/response_head.hpp"

namespace {
using namespace canaryd::proxy;

// A browser-like keep-alive request behind one earlier proxy: 11 fields.
constexpr std::string_view kBrowserRequest =
    "GET /api/v1/cart/items?limit=20 HTTP/1.1\r\n"
    "Host: shop.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: application/json, text/plain, */*\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Cookie: session=4f2a9c1e8b7d6a5f; theme=dark; consent=1\r\n"
    "Referer: https://shop.example.com/cart\r\n"
    "Connection: keep-alive\r\n"
    "Keep-Alive: timeout=5\r\n"
    "X-Forwarded-For: 203.0.113.7\r\n"
    "Via: 1.1 edge-lb\r\n"
    "\r\n";

// An nginx-like response with a hop-by-hop field named in Connection.
constexpr std::string_view kUpstreamResponse =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Fri, 27 Nov 2026 23:00:00 GMT\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 612\r\n"
    "Last-Modified: Fri, 27 Nov 2026 22:00:00 GMT\r\n"
    "Connection: keep-alive, X-Upstream-Hint\r\n"
    "X-Upstream-Hint: warm\r\n"
    "ETag: \"6564a2f0-264\"\r\n"
    "X-Version: v2\r\n"
    "Accept-Ranges: bytes\r\n"
    "\r\n";

void BM_RequestCheck(benchmark::State& st) {
  for (auto _ : st) {
    RequestCheck check = check_request_head(kBrowserRequest, "X-Canary");
    benchmark::DoNotOptimize(check);
  }
}
BENCHMARK(BM_RequestCheck);

void BM_RequestRewrite(benchmark::State& st) {
  const RequestCheck check = check_request_head(kBrowserRequest, "X-Canary");
  const UpstreamRequestRewrite rw{"198.51.100.23", "http", "X-Canary", "10.0.0.7:80", false};
  std::string out;
  for (auto _ : st) {
    write_upstream_request(kBrowserRequest, check, rw, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_RequestRewrite);

void BM_ResponseParse(benchmark::State& st) {
  for (auto _ : st) {
    ResponseHead head = parse_response_head(kUpstreamResponse);
    benchmark::DoNotOptimize(head);
  }
}
BENCHMARK(BM_ResponseParse);

void BM_ResponseRewrite(benchmark::State& st) {
  const ResponseHead head = parse_response_head(kUpstreamResponse);
  ClientResponseRewrite rw;
  rw.set_header = "X-Canary-Set";
  rw.set_name = "canary";
  std::string out;
  for (auto _ : st) {
    write_client_response(kUpstreamResponse, head, rw, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_ResponseRewrite);

}  // namespace
