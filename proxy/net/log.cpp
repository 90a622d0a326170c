// The log line: a UTC timestamp and the message, written to stderr at once, as text or JSON.
#include "proxy/net/log.hpp"

#include <atomic>
#include <cstdio>
#include <string>

#include <boost/json.hpp>

#include "weights/json_text.hpp"
#include "weights/routing_state.hpp"

namespace canaryd::proxy {
namespace {
std::atomic<config::LogFormat> g_format{config::LogFormat::Text};
}

void set_log_format(config::LogFormat format) { g_format.store(format, std::memory_order_relaxed); }

std::string format_json_log_line(std::string_view time, std::string_view message,
                                 std::initializer_list<LogField> fields) {
  boost::json::object o;
  o["time"] = time;
  o["msg"] = message;
  for (const auto& f : fields) {
    boost::json::value v = boost::json::string(f.text);
    if (f.number) {
      boost::system::error_code ec;
      auto parsed = boost::json::parse(f.text, ec);
      if (!ec && parsed.is_number()) v = parsed;
    }
    o[f.key] = std::move(v);
  }
  return weights::to_json_text(o);
}

void log_line(std::string_view message, std::initializer_list<LogField> fields) {
  const std::string time = weights::format_time(weights::Clock::now());
  std::string line;
  if (g_format.load(std::memory_order_relaxed) == config::LogFormat::Json) {
    line = format_json_log_line(time, message, fields);
  } else {
    line = time;
    line += " canaryd: ";
    line += message;
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace canaryd::proxy
