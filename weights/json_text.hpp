#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

namespace canaryd::weights {

/// Parses one complete JSON document. On failure returns nullopt and sets `error` to
/// "invalid JSON at offset N: <reason>" (a torn document reads "incomplete JSON"). Any thread.
std::optional<boost::json::value> parse_json(std::string_view text, std::string& error);

/// Serialises compactly like boost::json::serialize, except that doubles print as people write them
/// (10.0, 33.33; Boost 1.81 prints 1E1), non-finite doubles print as null, and invalid UTF-8 in strings
/// becomes U+FFFD so that the output is always valid JSON. Any thread.
std::string to_json_text(const boost::json::value& v);

}  // namespace canaryd::weights
