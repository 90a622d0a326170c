#include "ctl/token.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace canaryd::ctl {

std::string trim_whitespace(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kSpace);
  return std::string(text.substr(first, last - first + 1));
}

std::optional<std::string> read_token_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read token file " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) {
    error = "cannot read token file " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  return trim_whitespace(content);
}

}  // namespace canaryd::ctl
