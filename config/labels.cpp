// Kubernetes' rules for label keys and values (see labels.hpp), with messages that name the offending part.
#include "config/labels.hpp"

#include <cstddef>

namespace canaryd::config {
namespace {

constexpr std::size_t kMaxNameLength = 63;
constexpr std::size_t kMaxPrefixLength = 253;

bool is_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// The character rule shared by label names and label values.
bool is_name_or_value(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  if (!is_alnum(s.front()) || !is_alnum(s.back())) return false;
  for (char c : s) {
    if (!is_alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// RFC 1123 subdomain, as Kubernetes requires for the prefix of a qualified name.
bool is_dns_subdomain(std::string_view s) {
  if (s.empty() || s.size() > kMaxPrefixLength) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    const std::string_view part = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty() || part.size() > kMaxNameLength) return false;
    for (char c : part) {
      const bool lower_alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      if (!lower_alnum && c != '-') return false;
    }
    if (part.front() == '-' || part.back() == '-') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  out.append(s);
  out += '"';
  return out;
}

}  // namespace

Result<void> validate_label_key(std::string_view key) {
  if (key.empty()) return fail("invalid label key \"\": must not be empty");
  std::string_view name = key;
  const std::size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    const std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (!is_dns_subdomain(prefix)) {
      return fail("invalid label key " + quoted(key) + ": prefix " + quoted(prefix) +
                  " must be a DNS subdomain (lowercase letters, digits, '-' and '.', at most 253 characters)");
    }
  }
  if (!is_name_or_value(name)) {
    return fail("invalid label key " + quoted(key) +
                ": the name must be 1 to 63 characters of [A-Za-z0-9._-], starting and ending with a letter or digit");
  }
  return {};
}

Result<void> validate_label_value(std::string_view value) {
  if (value.empty() || is_name_or_value(value)) return {};
  return fail("invalid label value " + quoted(value) +
              ": must be at most 63 characters of [A-Za-z0-9._-], starting and ending with a letter or digit");
}

}  // namespace canaryd::config
