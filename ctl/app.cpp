// One canaryctl run (see app.hpp): parse, resolve the connection, send the call, print the answer or the
// error, and choose the exit status.
#include "ctl/app.hpp"

#include <boost/json.hpp>

#include "ctl/api_call.hpp"
#include "ctl/api_views.hpp"
#include "ctl/completion.hpp"
#include "ctl/history_revision.hpp"
#include "ctl/live_commands.hpp"
#include "ctl/plan_file.hpp"
#include "ctl/render.hpp"
#include "ctl/rollout_view.hpp"
#include "ctl/route_view.hpp"
#include "ctl/terminal_text.hpp"
#include "ctl/version_command.hpp"

namespace canaryd::ctl {
namespace {

void print_body(std::ostream& out, const std::string& body) {
  out << body;
  if (body.empty() || body.back() != '\n') out << '\n';
}

/// The readable output of a successful answer, or an explanation when the answer is not canaryd's.
int print_table(Command command, const HttpResponse& res, const ServerUrl& server, std::ostream& out,
                std::ostream& err) {
  std::string error;
  if (is_rollout(command)) {
    auto rollout = parse_rollout(res.body);
    if (rollout) {
      out << (command == Command::RolloutStatus ? render_rollout(*rollout, std::chrono::system_clock::now())
                                                : render_rollout_confirmation(command, *rollout));
      return kExitOk;
    }
    error = rollout.error().message;
  } else if (command == Command::Route) {
    auto route = parse_route(res.body);
    if (route) {
      out << render_route(*route);
      return kExitOk;
    }
    error = route.error().message;
  } else if (command == Command::History) {
    auto history = parse_history(res.body);
    if (history) {
      out << render_history(*history);
      return kExitOk;
    }
    error = history.error().message;
  } else {
    auto status = parse_status(res.body);
    if (status) {
      out << (command == Command::Status ? render_status(*status) : render_confirmation(command, *status));
      return kExitOk;
    }
    error = status.error().message;
  }
  err << "canaryctl: " << server.text << " answered " << res.status << " but not as canaryd does: " << error
      << "\n";
  if (is_change(command)) err << "canaryctl: the change may have been applied; check with `canaryctl status`\n";
  return kExitRefused;
}

/// The refusal on stderr, with the token hint under a 401.
void print_refusal(const HttpResponse& res, const Connection& conn, bool message, std::ostream& err) {
  if (message) err << "error: " << refusal_message(res.status, res.reason, res.body) << "\n";
  if (res.status == 401) err << unauthorized_hint(!conn.token.empty()) << "\n";
}

/// history --revision N: the one revision from GET /api/history, in full (or its JSON under -o json).
int print_revision(const Invocation& inv, const HttpResponse& res, const ServerUrl& server, std::ostream& out,
                   std::ostream& err) {
  auto history = parse_history(res.body);
  if (!history) {
    err << "canaryctl: " << server.text << " answered " << res.status
        << " but not as canaryd does: " << history.error().message << "\n";
    return kExitRefused;
  }
  const std::uint64_t n = *inv.revision;
  if (inv.output == OutputFormat::Json) {
    if (auto doc = revision_json(res.body, n)) {
      print_body(out, json_for_terminal(*doc));
      return kExitOk;
    }
  } else if (auto text = render_revision(*history, n)) {
    out << *text;
    return kExitOk;
  }
  const std::string message = missing_revision_message(*history, n);
  if (inv.output == OutputFormat::Json) {
    out << boost::json::serialize(boost::json::object{{"error", message}}) << "\n";
  }
  err << "error: " << message << "\n";
  return kExitRefused;
}

}  // namespace

int run(const std::vector<std::string>& args, const Environment& env, Transport& transport, std::ostream& out,
        std::ostream& err) {
  RealPacer pacer;
  return run(args, env, transport, out, err, pacer);
}

int run(const std::vector<std::string>& args, const Environment& env, Transport& transport, std::ostream& out,
        std::ostream& err, Pacer& pacer) {
  auto parsed = parse_args(args);
  if (!parsed) {
    err << "canaryctl: " << parsed.error().message << "\n" << short_usage();
    return kExitUsage;
  }
  const auto& inv = *parsed;
  if (inv.command == Command::Help) {
    const std::string topic = command_help(inv.help_topic);
    out << (topic.empty() ? full_help() : topic);
    return kExitOk;
  }
  if (inv.command == Command::Completion) {
    out << completion_script(inv.shell);
    return kExitOk;
  }
  if (inv.command == Command::Version && inv.client_only) {
    out << "canaryctl " << client_version() << "\n";
    return kExitOk;
  }

  auto connection = resolve_connection(inv, env);
  if (!connection) {
    err << "canaryctl: " << connection.error().message << "\n";
    return kExitUsage;
  }
  const auto& conn = *connection;
  if (inv.command == Command::Version) return run_version(inv, conn, transport, out, err);
  if (is_live(inv)) return run_live(inv, conn, transport, pacer, out, err);

  std::string plan;
  if (inv.plan_file) {
    auto read = read_plan_file(*inv.plan_file);
    if (!read) {
      err << "canaryctl: " << read.error().message << "\n";
      return kExitUsage;
    }
    plan = std::move(read).value();
  }
  const ApiCall call = build_api_call(inv, plan);
  const HttpRequest request{call.method, conn.server.base_path + call.path, call.body, conn.token};
  auto result = transport.send(conn.server, request);
  if (!result) {
    err << "canaryctl: cannot reach canaryd at " << conn.server.text << ": " << result.error().message << "\n";
    return kExitUnreachable;
  }
  const auto& res = *result;

  const bool ok = res.status >= 200 && res.status < 300;
  if (inv.output == OutputFormat::Json && (ok || is_json(res.body))) {
    // Scripts read the server's own document on stdout, refusals included; the exit status tells which.
    if (ok && inv.revision) return print_revision(inv, res, conn.server, out, err);
    print_body(out, json_for_terminal(res.body));
    print_refusal(res, conn, false, err);
    return ok ? kExitOk : kExitRefused;
  }
  if (!ok) {
    print_refusal(res, conn, true, err);
    return kExitRefused;
  }
  if (inv.revision) return print_revision(inv, res, conn.server, out, err);
  return print_table(inv.command, res, conn.server, out, err);
}

}  // namespace canaryd::ctl
