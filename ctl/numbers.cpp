// Checking the numbers an operator types (see numbers.hpp) without judging their range.
#include "ctl/numbers.hpp"

#include <cctype>
#include <limits>

namespace canaryd::ctl {
namespace {

bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> percent_json_text(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    // JSON has no '+'; it means nothing anyway.
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  const auto dot = text.find('.');
  std::string_view int_part = text.substr(0, dot);
  std::string_view frac_part = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (int_part.empty() && frac_part.empty()) return std::nullopt;
  if (!all_digits(int_part) || !all_digits(frac_part)) return std::nullopt;

  // JSON forbids leading zeros and a bare dot; dropping them keeps the value and every digit that counts,
  // so the server still sees exactly the precision the operator typed (33.33 stays 33.33).
  while (int_part.size() > 1 && int_part.front() == '0') int_part.remove_prefix(1);
  std::string out;
  if (negative) out.push_back('-');
  out += int_part.empty() ? std::string_view{"0"} : int_part;
  if (!frac_part.empty()) {
    out += '.';
    out += frac_part;
  }
  return out;
}

std::optional<std::uint64_t> parse_positive_integer(std::string_view text) {
  if (text.empty() || !all_digits(text)) return std::nullopt;
  std::uint64_t value = 0;
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  for (char c : text) {
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (kMax - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (value == 0) return std::nullopt;
  return value;
}

bool looks_negative_number(std::string_view word) {
  if (word.size() < 2 || word.front() != '-') return false;
  return is_digit(word[1]) || (word[1] == '.' && word.size() > 2 && is_digit(word[2]));
}

}  // namespace canaryd::ctl
