// canaryd's JSON text in and out: a parser that refuses duplicate keys and keeps each number's text, and a
// writer whose output is always valid UTF-8 and never drives a terminal.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "config/result.hpp"
#include "config/weight.hpp"

namespace canaryd::weights {

/// The source text of every number of a parsed document, by JSON Pointer (RFC 6901: "/canary_weight",
/// "/steps/0/weight"; "" for a document that is one number). A double cannot tell 33.33 from
/// 33.3300000000000001, so a rule that must never round judges what was written.
class NumberTexts {
 public:
  /// The text of the number at `pointer`, or nullptr when there is no number there.
  const std::string* find(std::string_view pointer) const;
  void add(std::string pointer, std::string text) { texts_.emplace_back(std::move(pointer), std::move(text)); }

 private:
  std::vector<std::pair<std::string, std::string>> texts_;
};

/// Parses one complete JSON document. A key that appears twice in one object, at any depth, is an
/// error (Boost.JSON would silently keep one of them). The error reads "invalid JSON at offset N:
/// <reason>" (a torn document reads "incomplete JSON") or "duplicate key \"k\"" (with " in /path" below
/// the top level). `numbers`, when given, receives the text of every number. Any thread.
Result<boost::json::value> parse_json(std::string_view text, NumberTexts* numbers = nullptr);

/// Serialises compactly like boost::json::serialize, except that doubles print as people write them
/// (10.0, 33.33; Boost 1.81 prints 1E1), non-finite doubles print as null, invalid UTF-8 in strings
/// becomes U+FFFD so that the output is always valid JSON, and every control character (C0, DEL and C1,
/// not only the C0 that JSON requires) is escaped, so the text never drives a terminal. Any thread.
std::string to_json_text(const boost::json::value& v);

/// How a value reads in an error message: "null", "a boolean", "a string", "an array", "an object",
/// "a number".
std::string_view json_kind_name(const boost::json::value& v);

/// A canary weight in a JSON document (PUT /api/weight, a rollout plan's steps): a JSON number only ("30",
/// true and null are refused rather than coerced), judged with the config's rule by `written`, its text
/// as NumberTexts kept it, never by the double it parsed to: 33.3300000001 and 0.000000001 are refused,
/// not rounded. Without a text (JSON that canaryd wrote itself) the number's shortest form stands in.
/// The error starts with `field`: "canary_weight: must be a number from 0 to 100 ...".
Result<config::BasisPoints> json_weight(const boost::json::value& v, const std::string* written,
                                        std::string_view field);

}  // namespace canaryd::weights
