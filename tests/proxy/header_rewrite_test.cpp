#include "proxy/header_rewrite.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace canaryd::proxy {
namespace {
namespace http = boost::beast::http;

using FieldList = std::vector<std::pair<std::string, std::string>>;

http::fields make_fields(const FieldList& list) {
  http::fields f;
  for (const auto& [name, value] : list) f.insert(name, value);
  return f;
}

// Every field, in order, as (name as written, value).
FieldList all_fields(const http::fields& f) {
  FieldList out;
  for (const auto& field : f)
    out.emplace_back(std::string(field.name_string().data(), field.name_string().size()),
                     std::string(field.value().data(), field.value().size()));
  return out;
}

std::string value_of(const http::fields& f, const char* name) {
  auto v = f[name];
  return std::string(v.data(), v.size());
}

const FieldList kEndToEnd = {
    {"Host", "example.com"},         {"Accept", "*/*"},          {"Authorization", "Bearer abc"},
    {"Cookie", "a=1"},               {"Content-Type", "text/plain"}, {"Content-Length", "5"},
    {"X-Request-Id", "42"},          {"Cache-Control", "no-cache"},
};

TEST(HeaderRewriteTest, StripRemovesEveryStandardHopByHopField) {
  const FieldList list = {
      {"Connection", "keep-alive"},      {"Keep-Alive", "timeout=5"},         {"Proxy-Connection", "keep-alive"},
      {"TE", "trailers"},                {"Trailer", "X-Checksum"},           {"Transfer-Encoding", "chunked"},
      {"Upgrade", "websocket"},          {"Proxy-Authenticate", "Basic"},     {"Proxy-Authorization", "Basic Zm9v"},
  };
  http::fields f = make_fields(list);
  strip_hop_by_hop(f);
  EXPECT_EQ(all_fields(f), FieldList{});
}

TEST(HeaderRewriteTest, StripKeepsEndToEndFieldsInOrderWithTheirValues) {
  FieldList list = kEndToEnd;
  list.insert(list.begin() + 2, {"Connection", "close"});
  list.insert(list.begin() + 4, {"Keep-Alive", "max=3"});
  list.emplace_back("Upgrade", "h2c");
  list.emplace_back("proxy-authorization", "Basic x");  // lowercase name, still hop-by-hop
  http::fields f = make_fields(list);
  strip_hop_by_hop(f);
  EXPECT_EQ(all_fields(f), kEndToEnd);
}

TEST(HeaderRewriteTest, StripRemovesEveryOccurrenceOfAHopByHopField) {
  http::fields f = make_fields({{"Host", "a"}, {"TE", "trailers"}, {"TE", "deflate"}, {"Upgrade", "a"}, {"upgrade", "b"}});
  strip_hop_by_hop(f);
  EXPECT_EQ(all_fields(f), (FieldList{{"Host", "a"}}));
}

TEST(HeaderRewriteTest, StripRemovesFieldsNamedInConnection) {
  http::fields f = make_fields({{"Host", "a"}, {"Connection", "X-Secret, X-Hop"}, {"X-Secret", "s"}, {"X-Hop", "h"},
                                {"X-Kept", "k"}});
  strip_hop_by_hop(f);
  EXPECT_EQ(all_fields(f), (FieldList{{"Host", "a"}, {"X-Kept", "k"}}));
}

TEST(HeaderRewriteTest, StripHonoursEveryConnectionHeader) {
  http::fields f = make_fields({{"Connection", "X-A"}, {"Host", "a"}, {"X-A", "1"}, {"X-B", "2"}, {"X-C", "3"},
                                {"Connection", "X-B"}, {"Connection", "keep-alive, X-C"}});
  strip_hop_by_hop(f);
  EXPECT_EQ(all_fields(f), (FieldList{{"Host", "a"}}));
}

TEST(HeaderRewriteTest, StripParsesConnectionListsWithOwsAndEmptyElements) {
  http::fields f = make_fields({{"Connection", " ,  X-A ,\tX-B\t,, ,X-C,"},
                                {"X-A", "1"},
                                {"X-B", "2"},
                                {"X-C", "3"},
                                {"X-AB", "prefix-like, kept"},
                                {"X-", "kept"},
                                {"Host", "a"}});
  strip_hop_by_hop(f);
  EXPECT_EQ(all_fields(f), (FieldList{{"X-AB", "prefix-like, kept"}, {"X-", "kept"}, {"Host", "a"}}));
}

TEST(HeaderRewriteTest, StripMatchesConnectionTokensCaseInsensitively) {
  http::fields f = make_fields({{"connection", "x-custom, X-OTHER"},
                                {"X-CUSTOM", "1"},
                                {"X-Custom", "2"},
                                {"x-other", "3"},
                                {"Host", "a"}});
  strip_hop_by_hop(f);
  EXPECT_EQ(all_fields(f), (FieldList{{"Host", "a"}}));
}

TEST(HeaderRewriteTest, StripWithoutConnectionLeavesEndToEndFieldsAlone) {
  http::fields f = make_fields(kEndToEnd);
  strip_hop_by_hop(f);
  EXPECT_EQ(all_fields(f), kEndToEnd);
}

TEST(HeaderRewriteTest, StripOfConnectionCloseKeepsOtherFields) {
  http::fields f = make_fields({{"Connection", "close"}, {"Host", "a"}, {"Content-Length", "0"}});
  strip_hop_by_hop(f);
  EXPECT_EQ(all_fields(f), (FieldList{{"Host", "a"}, {"Content-Length", "0"}}));
}

TEST(HeaderRewriteTest, ForwardingFieldsAreAddedWhenAbsent) {
  http::fields f = make_fields({{"Host", "a"}});
  add_forwarding_fields(f, "192.0.2.10", "http");
  EXPECT_EQ(value_of(f, "X-Forwarded-For"), "192.0.2.10");
  EXPECT_EQ(value_of(f, "X-Forwarded-Proto"), "http");
  EXPECT_EQ(value_of(f, "Via"), "1.1 canaryd");
  EXPECT_EQ(value_of(f, "Host"), "a");
  EXPECT_EQ(all_fields(f).size(), 4u);
}

TEST(HeaderRewriteTest, ForwardedForIsAppendedToTheExistingValue) {
  http::fields f = make_fields({{"X-Forwarded-For", "203.0.113.7"}});
  add_forwarding_fields(f, "192.0.2.10", "http");
  EXPECT_EQ(value_of(f, "X-Forwarded-For"), "203.0.113.7, 192.0.2.10");
  EXPECT_EQ(f.count("X-Forwarded-For"), 1u);
}

TEST(HeaderRewriteTest, ForwardedForJoinsSeveralHeadersInOrder) {
  http::fields f = make_fields({{"X-Forwarded-For", "198.51.100.1, 198.51.100.2"},
                                {"Host", "a"},
                                {"x-forwarded-for", "198.51.100.3"},
                                {"X-Forwarded-For", "198.51.100.4"}});
  add_forwarding_fields(f, "192.0.2.10", "https");
  EXPECT_EQ(value_of(f, "X-Forwarded-For"), "198.51.100.1, 198.51.100.2, 198.51.100.3, 198.51.100.4, 192.0.2.10");
  EXPECT_EQ(f.count("X-Forwarded-For"), 1u);
}

TEST(HeaderRewriteTest, EmptyForwardedForIsNotJoinedAsAnEmptyElement) {
  http::fields f = make_fields({{"X-Forwarded-For", ""}, {"X-Forwarded-For", "198.51.100.1"}});
  add_forwarding_fields(f, "192.0.2.10", "http");
  EXPECT_EQ(value_of(f, "X-Forwarded-For"), "198.51.100.1, 192.0.2.10");
}

TEST(HeaderRewriteTest, ForwardedForTakesAnIpv6ClientAsGiven) {
  http::fields f;
  add_forwarding_fields(f, "2001:db8::1", "http");
  EXPECT_EQ(value_of(f, "X-Forwarded-For"), "2001:db8::1");
}

TEST(HeaderRewriteTest, ForwardedProtoIsReplacedNotAppended) {
  http::fields f = make_fields({{"X-Forwarded-Proto", "https"}, {"x-forwarded-proto", "ftp"}});
  add_forwarding_fields(f, "192.0.2.10", "http");
  EXPECT_EQ(value_of(f, "X-Forwarded-Proto"), "http");
  EXPECT_EQ(f.count("X-Forwarded-Proto"), 1u);
}

TEST(HeaderRewriteTest, ViaIsAppendedToExistingEntries) {
  http::fields f = make_fields({{"Via", "1.0 fred, 1.1 p.example"}, {"Host", "a"}, {"Via", "1.1 nginx"}});
  add_forwarding_fields(f, "192.0.2.10", "http");
  EXPECT_EQ(value_of(f, "Via"), "1.0 fred, 1.1 p.example, 1.1 nginx, 1.1 canaryd");
  EXPECT_EQ(f.count("Via"), 1u);
}

TEST(HeaderRewriteTest, ForwardingLeavesOtherFieldsUntouched) {
  http::fields f = make_fields(kEndToEnd);
  add_forwarding_fields(f, "192.0.2.10", "http");
  FieldList rest;
  for (const auto& [name, value] : all_fields(f))
    if (name != "X-Forwarded-For" && name != "X-Forwarded-Proto" && name != "Via") rest.emplace_back(name, value);
  EXPECT_EQ(rest, kEndToEnd);
}

TEST(HeaderRewriteTest, StripThenForwardReplacesAClientsConnectionTrick) {
  // A client cannot make the proxy drop its own X-Forwarded-For entry by naming the field in Connection:
  // the client's copy goes, ours is added afterwards.
  http::fields f = make_fields({{"Host", "a"}, {"Connection", "X-Forwarded-For"}, {"X-Forwarded-For", "10.9.9.9"}});
  strip_hop_by_hop(f);
  add_forwarding_fields(f, "192.0.2.10", "http");
  EXPECT_EQ(value_of(f, "X-Forwarded-For"), "192.0.2.10");
  EXPECT_EQ(f.count("Connection"), 0u);
}

}  // namespace
}  // namespace canaryd::proxy
