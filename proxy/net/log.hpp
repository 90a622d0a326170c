// canaryd's log: one timestamped line on stderr, for the control plane and start-up; as text or, with
// `log_format: json`, as one JSON object a line.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace canaryd::proxy {

/// One named value of a log line: shown only in the JSON format (the text line's message says it
/// already). `number`: written without quotes (its text must be a JSON number).
struct LogField {
  std::string_view key;
  std::string text;
  bool number = false;
};

/// Any thread: how the following lines are written (text by default).
void set_log_format(config::LogFormat format);

/// One line on stderr with a UTC timestamp. Control plane and start-up only; the request path logs
/// only that canaryd ran out of descriptors, at most once a second (descriptor_shortage.hpp).
/// Text: `TIME canaryd: MESSAGE`. JSON: {"time": TIME, "msg": MESSAGE, FIELD: VALUE...}.
void log_line(std::string_view message, std::initializer_list<LogField> fields = {});

/// The JSON form of one line (format_log_line's job for log_line; pure, for tests).
std::string format_json_log_line(std::string_view time, std::string_view message, std::initializer_list<LogField> fields);

}  // namespace canaryd::proxy
