// Cookies as the routing reads and writes them (contract section 8): finding one cookie's value in a
// Cookie field (RFC 6265 5.4: `a=b; c=d`) without allocating, and the Set-Cookie field that gives a
// client its affinity cookie.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace canaryd::proxy {

/// The value of the cookie `name` in one Cookie field value, as a view into it; std::nullopt when the
/// field has no such cookie. Names compare exactly (cookie names are case-sensitive); whitespace around
/// pairs, names and values is skipped; a value in double quotes is returned without them; pairs without
/// '=' are ignored. Within a field the first pair of that name wins (as a request with several Cookie
/// fields, where the first field holding the name wins: RequestCheck).
std::optional<std::string_view> find_cookie(std::string_view field_value, std::string_view name);

/// How long an affinity cookie canaryd sets lives: 30 days, in seconds.
inline constexpr std::uint32_t kAffinityCookieMaxAge = 2592000;

/// A fresh affinity cookie value: 128 random bits as 32 lowercase hex digits.
struct CookieValue {
  char text[32];
  std::string_view view() const { return {text, sizeof text}; }
};
CookieValue make_cookie_value(std::uint64_t high, std::uint64_t low);

/// Appends `Set-Cookie: NAME=VALUE; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax` and CRLF.
void append_set_cookie(std::string& out, std::string_view name, std::string_view value);

}  // namespace canaryd::proxy
