// canaryctl version (see version_command.hpp): two reads at most, status then metrics.
#include "ctl/version_command.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "ctl/app.hpp"
#include "ctl/terminal_text.hpp"

#ifndef CANARYD_VERSION
#define CANARYD_VERSION "0.0.0"
#endif

namespace canaryd::ctl {
namespace {

namespace json = boost::json;

/// The server's answer to one GET, or why there is none.
struct Read {
  bool reached = false;
  std::string error;  ///< when not reached
  int status = 0;
  std::string body;
};

Read get(const Connection& c, Transport& transport, const std::string& path) {
  auto result = transport.send(c.server, {"GET", c.server.base_path + path, "", c.token});
  if (!result) return {false, result.error().message, 0, {}};
  return {true, {}, result->status, std::move(result->body)};
}

void print_versions(const Invocation& inv, const Connection& c, const std::optional<std::string>& server,
                    std::ostream& out) {
  if (inv.output == OutputFormat::Json) {
    json::object doc;
    doc["client"] = client_version();
    if (server) {
      doc["server"] = *server;
    } else {
      doc["server"] = nullptr;
    }
    out << json::serialize(doc) << "\n";
    return;
  }
  out << "canaryctl " << client_version() << "\n";
  if (server) out << "canaryd " << *server << " (" << c.server.text << ")\n";
}

}  // namespace

std::string_view client_version() { return CANARYD_VERSION; }

std::optional<std::string> version_from_status(std::string_view text) {
  json::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) return std::nullopt;
  const json::value* v = doc.get_object().if_contains("version");
  if (v == nullptr || !v->is_string() || v->get_string().empty()) return std::nullopt;
  return printable(v->get_string());
}

std::optional<std::string> version_from_metrics(std::string_view text) {
  constexpr std::string_view kName = "canaryd_build_info{";
  constexpr std::string_view kLabel = "version=\"";
  std::size_t line = 0;
  while (line < text.size()) {
    const std::size_t end = std::min(text.find('\n', line), text.size());
    const std::string_view l = text.substr(line, end - line);
    line = end + 1;
    if (!l.starts_with(kName)) continue;
    const std::size_t labels_end = l.find('}');
    std::size_t at = l.find(kLabel);
    // The label itself, not a suffix of another one (xversion="..."): preceded by '{' or ','.
    while (at != std::string_view::npos && at < labels_end && l[at - 1] != '{' && l[at - 1] != ',') {
      at = l.find(kLabel, at + 1);
    }
    if (at == std::string_view::npos || at > labels_end) continue;
    const std::size_t from = at + kLabel.size();
    const std::size_t to = l.find('"', from);
    if (to == std::string_view::npos || to == from) continue;
    return printable(l.substr(from, to - from));
  }
  return std::nullopt;
}

int run_version(const Invocation& inv, const Connection& c, Transport& transport, std::ostream& out,
                std::ostream& err) {
  Read status = get(c, transport, "/api/status");
  if (!status.reached) {
    print_versions(inv, c, std::nullopt, out);
    err << "canaryctl: cannot reach canaryd at " << c.server.text << ": " << status.error << "\n";
    return kExitUnreachable;
  }
  std::optional<std::string> server;
  if (status.status >= 200 && status.status < 300) server = version_from_status(status.body);
  if (!server) {
    // Today's canaryd says its version in the build_info metric; /metrics is outside the token's reach.
    Read metrics = get(c, transport, "/metrics");
    if (metrics.reached && metrics.status == 200) server = version_from_metrics(metrics.body);
  }
  print_versions(inv, c, server, out);
  if (!server) {
    err << "canaryctl: " << c.server.text << " answered but named no canaryd version (no \"version\" in "
        << "/api/status, no canaryd_build_info in /metrics)\n";
    return kExitRefused;
  }
  return kExitOk;
}

}  // namespace canaryd::ctl
