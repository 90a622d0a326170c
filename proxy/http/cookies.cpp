// The cookie reading and writing of cookies.hpp.
#include "proxy/http/cookies.hpp"

namespace canaryd::proxy {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string_view> find_cookie(std::string_view field_value, std::string_view name) {
  while (!field_value.empty()) {
    const std::size_t semi = field_value.find(';');
    const std::string_view pair = field_value.substr(0, semi);
    field_value = semi == std::string_view::npos ? std::string_view{} : field_value.substr(semi + 1);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return value;
  }
  return std::nullopt;
}

CookieValue make_cookie_value(std::uint64_t high, std::uint64_t low) {
  static constexpr char kHex[] = "0123456789abcdef";
  CookieValue v;
  for (int i = 0; i < 16; ++i) {
    v.text[i] = kHex[(high >> (60 - 4 * i)) & 0xf];
    v.text[16 + i] = kHex[(low >> (60 - 4 * i)) & 0xf];
  }
  return v;
}

void append_set_cookie(std::string& out, std::string_view name, std::string_view value) {
  out.append("Set-Cookie: ");
  out.append(name);
  out.push_back('=');
  out.append(value);
  out.append("; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax\r\n");
}

}  // namespace canaryd::proxy
