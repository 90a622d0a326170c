#include "proxy/header_rewrite.hpp"

#include <array>
#include <string>
#include <vector>

namespace canaryd::proxy {
namespace http = boost::beast::http;

namespace {

// Joins every occurrence of a field into one comma-separated list, as RFC 9110 5.3 allows.
std::string joined_values(const http::fields& fields, std::string_view name) {
  std::string out;
  auto range = fields.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) {
    if (it->value().empty()) continue;
    if (!out.empty()) out += ", ";
    out.append(it->value().data(), it->value().size());
  }
  return out;
}

}  // namespace

void strip_hop_by_hop(http::fields& fields) {
  // Fields listed in Connection are hop-by-hop for this message only; collect them first because
  // erasing Connection itself would lose the list.
  auto range = fields.equal_range(http::field::connection);
  std::vector<std::string> named;
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view v(it->value().data(), it->value().size());
    while (!v.empty()) {
      std::size_t comma = v.find(',');
      std::string_view token = v.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
      if (!token.empty()) named.emplace_back(token);
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  for (const auto& name : named) fields.erase(name);

  static constexpr std::array kHopByHop = {
      http::field::connection,          http::field::keep_alive,        http::field::proxy_connection,
      http::field::te,                  http::field::trailer,           http::field::transfer_encoding,
      http::field::upgrade,             http::field::proxy_authenticate, http::field::proxy_authorization,
  };
  for (auto f : kHopByHop) fields.erase(f);
}

void add_forwarding_fields(http::fields& fields, std::string_view client_ip, std::string_view proto,
                           std::string_view via_entry) {
  std::string xff = joined_values(fields, "X-Forwarded-For");
  if (!xff.empty()) xff += ", ";
  xff.append(client_ip);
  fields.set("X-Forwarded-For", xff);
  fields.set("X-Forwarded-Proto", proto);
  append_via(fields, via_entry);
}

void append_via(http::fields& fields, std::string_view via_entry) {
  std::string via = joined_values(fields, "Via");
  if (!via.empty()) via += ", ";
  via.append(via_entry);
  fields.set("Via", via);
}

}  // namespace canaryd::proxy
