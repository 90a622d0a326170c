// The numbers on canaryctl's command line: a percent kept as typed JSON text, revision numbers, and telling
// a negative number from an option.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace canaryd::ctl {

/// The percent as the operator typed it, as JSON number text: an optional sign, digits and an optional
/// fraction ("20", "33.33", "-5", ".5" -> "0.5", "007.50" -> "7.50"). nullopt when it is not a plain
/// decimal. The range is not checked here: the server owns that rule and explains its refusal.
std::optional<std::string> percent_json_text(std::string_view text);

/// A positive decimal integer, 1 .. 2^64-1, digits only; nullopt for anything else.
std::optional<std::uint64_t> parse_positive_integer(std::string_view text);

/// True when the word reads as a number with a minus sign ("-5", "-.5"), so that it is taken as an
/// argument (sent to the server, which refuses it) rather than as an unknown option.
bool looks_negative_number(std::string_view word);

}  // namespace canaryd::ctl
