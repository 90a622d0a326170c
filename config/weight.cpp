// Parsing and printing canary weights in basis points (see weight.hpp).
#include "config/weight.hpp"


namespace canaryd::config {
namespace {

constexpr const char* kWeightRule = "must be a number from 0 to 100 with at most two decimals, got ";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Plain numbers are echoed as written ("got 10.125"); anything with spaces or odd characters is quoted
// so that the operator can see exactly what was read (" 5" vs "5").
std::string echo(std::string_view text) {
  bool plain = !text.empty();
  for (char c : text) {
    const bool ok =
        is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == '+' || c == '_';
    if (!ok) plain = false;
  }
  return plain ? std::string(text) : "\"" + std::string(text) + "\"";
}

}  // namespace

Result<BasisPoints> parse_weight_text(std::string_view text) {
  const auto invalid = [&]() -> Result<BasisPoints> { return fail(kWeightRule + echo(text)); };
  std::size_t i = 0;
  while (i < text.size() && is_digit(text[i])) ++i;
  const std::size_t int_digits = i;
  // Leading zeros ("010") are refused: YAML 1.1 readers take them as octal, so their meaning is unclear.
  if (int_digits == 0 || int_digits > 3 || (int_digits > 1 && text[0] == '0')) return invalid();
  std::uint32_t whole = 0;
  for (std::size_t k = 0; k < int_digits; ++k) whole = whole * 10 + static_cast<std::uint32_t>(text[k] - '0');

  std::uint32_t fraction = 0;  // hundredths
  if (i < text.size()) {
    if (text[i] != '.') return invalid();
    ++i;
    const std::size_t frac_start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    const std::size_t frac_digits = i - frac_start;
    if (i != text.size() || frac_digits == 0 || frac_digits > 2) return invalid();
    fraction = static_cast<std::uint32_t>(text[frac_start] - '0') * 10;
    if (frac_digits == 2) fraction += static_cast<std::uint32_t>(text[frac_start + 1] - '0');
  }
  const std::uint32_t bp = whole * 100 + fraction;
  if (bp > kMaxBasisPoints) return invalid();
  return bp;
}

double weight_percent(BasisPoints bp) { return static_cast<double>(bp) / 100.0; }

std::string format_weight(BasisPoints bp) {
  std::string out = std::to_string(bp / 100);
  const BasisPoints frac = bp % 100;
  if (frac == 0) return out;
  out += '.';
  out += static_cast<char>('0' + frac / 10);
  if (frac % 10 != 0) out += static_cast<char>('0' + frac % 10);
  return out;
}

}  // namespace canaryd::config
