// HTTP text rules shared by the parsers and the rewrite, sans I/O: byte-class tables (tchar), ASCII case
// folding, list elements, transfer codings, hop-by-hop names, what Connection says.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace canaryd::proxy::http_text {

/// A byte-class table: ASCII letters and digits, and `extra`.
constexpr std::array<bool, 256> alnum_and(std::string_view extra) {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : extra) t[static_cast<unsigned char>(c)] = true;
  return t;
}

/// RFC 9110 5.6.2 tchar.
constexpr std::array<bool, 256> kTchar = alnum_and("!#$%&'*+-.^_`|~");

inline bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!kTchar[c]) return false;
  return true;
}

inline char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

/// ASCII case-insensitive equality, as field names and tokens compare.
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

/// The first byte at or after `i` that a field value may not hold as it is (a control character but
/// HTAB, or DEL; so the CR of the line's end too), or s.size(). Eight bytes at a time: a word with no byte
/// below 0x20 and none equal to 0x7f needs no closer look (bytes from 0x80 up are allowed, obs-text).
inline std::size_t value_stop(std::string_view s, std::size_t i = 0) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHighs = 0x8080808080808080ull;
  while (i + 8 <= s.size()) {
    std::uint64_t x;
    std::memcpy(&x, s.data() + i, 8);
    const std::uint64_t del = x ^ (0x7f * kOnes);
    if ((((x - 0x20 * kOnes) & ~x) | ((del - kOnes) & ~del)) & kHighs) break;
    i += 8;
  }
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return i;
  }
  return s.size();
}

inline std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

/// Calls f(element) for each non-empty element of a comma-separated list (RFC 9110 5.6.1), OWS trimmed.
/// Stops early when f returns true; returns whether it did.
template <class F>
bool any_list_element(std::string_view list, F&& f) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view element = trim_ows(list.substr(0, comma));
    if (!element.empty() && f(element)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

/// The name of a transfer coding as listed in Transfer-Encoding ("gzip" of "gzip;level=9").
inline std::string_view coding_name(std::string_view coding) { return trim_ows(coding.substr(0, coding.find(';'))); }

/// The hop-by-hop fields of RFC 9110 7.6.1 (and the obsolete Keep-Alive and Proxy-Connection).
inline bool is_hop_by_hop(std::string_view name) {
  switch (name.size()) {
    case 2: return iequals(name, "te");
    case 7: return iequals(name, "trailer") || iequals(name, "upgrade");
    case 10: return iequals(name, "connection") || iequals(name, "keep-alive");
    case 16: return iequals(name, "proxy-connection");
    case 17: return iequals(name, "transfer-encoding");
    case 18: return iequals(name, "proxy-authenticate");
    case 19: return iequals(name, "proxy-authorization");
    default: return false;
  }
}

/// Whether an Upgrade field's value (a list of protocols, RFC 9110 7.8) names `websocket`, in any case,
/// without a version ("websocket/13" is not RFC 6455's token).
inline bool names_websocket(std::string_view upgrade) {
  return any_list_element(upgrade, [](std::string_view protocol) { return iequals(protocol, "websocket"); });
}

/// What the Connection fields of a message say: close, keep-alive, upgrade, and whether they name other
/// fields (which are then hop-by-hop for this message; `upgrade` names the Upgrade field).
struct ConnectionOptions {
  bool close = false;
  bool keep_alive = false;
  bool upgrade = false;
  bool names_fields = false;

  void add(std::string_view value) {
    any_list_element(value, [&](std::string_view token) {
      if (iequals(token, "close"))
        close = true;
      else if (iequals(token, "keep-alive"))
        keep_alive = true;
      else
        names_fields = true;
      if (iequals(token, "upgrade")) upgrade = true;
      return false;
    });
  }
  /// RFC 9112 9.3: HTTP/1.1 persists unless closed; HTTP/1.0 only when asked to.
  bool persistent(bool http10) const { return !close && (!http10 || keep_alive); }
};

}  // namespace canaryd::proxy::http_text
