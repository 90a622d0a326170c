// The loops of `status --watch`, `rollout status --watch` and `wait` (see live_commands.hpp).
#include "ctl/live_commands.hpp"

#include <variant>

#include "config/duration.hpp"
#include "ctl/api_call.hpp"
#include "ctl/api_views.hpp"
#include "ctl/app.hpp"
#include "ctl/live_view.hpp"
#include "ctl/rollout_view.hpp"
#include "ctl/wait_decision.hpp"

namespace canaryd::ctl {
namespace {

constexpr std::chrono::milliseconds kPeriod{1000};
/// ANSI: cursor home, clear the screen.
constexpr std::string_view kClearScreen = "\x1b[H\x1b[2J";

/// One GET's answer: the body of a 2xx, or the line that explains why there is none.
struct Fetched {
  enum class Kind { Ok, Refused, Unreachable } kind = Kind::Ok;
  std::string text;  ///< the body when Ok, else the message
};

/// Prints why a poll got nothing and returns the exit status that says so.
int report(const Fetched& f, std::ostream& err) {
  const bool unreachable = f.kind == Fetched::Kind::Unreachable;
  err << (unreachable ? "canaryctl: " : "error: ") << f.text << "\n";
  return unreachable ? kExitUnreachable : kExitRefused;
}

/// A poll that ends the command: a refusal, or no answer at all on the first poll.
bool is_final(const Fetched& f, bool first) {
  return f.kind == Fetched::Kind::Refused || (first && f.kind == Fetched::Kind::Unreachable);
}

class Poller {
 public:
  Poller(const Connection& c, Transport& t) : connection_(c), transport_(t) {}

  Fetched get(const std::string& path) {
    auto result = transport_.send(connection_.server, {"GET", connection_.server.base_path + path, "", connection_.token});
    if (!result) {
      return {Fetched::Kind::Unreachable,
              "cannot reach canaryd at " + connection_.server.text + ": " + result.error().message};
    }
    if (result->status < 200 || result->status >= 300) {
      std::string message = refusal_message(result->status, result->reason, result->body);
      if (result->status == 401) message += "\n" + unauthorized_hint(!connection_.token.empty());
      return {Fetched::Kind::Refused, std::move(message)};
    }
    return {Fetched::Kind::Ok, std::move(result->body)};
  }

 private:
  const Connection& connection_;
  Transport& transport_;
};

/// Draws each frame over the last on a terminal, else below it with a blank line between.
class Screen {
 public:
  Screen(std::ostream& out, bool in_place) : out_(out), in_place_(in_place) {}
  void draw(const std::string& frame) {
    if (in_place_) {
      out_ << kClearScreen;
    } else if (drawn_) {
      out_ << '\n';
    }
    out_ << frame << std::flush;
    drawn_ = true;
  }

 private:
  std::ostream& out_;
  bool in_place_;
  bool drawn_ = false;
};

/// The frame of one round of `status --watch`, or the exit status when the first round fails.
std::variant<std::string, int> status_frame(Poller& poller, const Connection& c, Pacer& pacer, bool first,
                                            std::ostream& err) {
  const Fetched status = poller.get("/api/status");
  if (is_final(status, first)) return report(status, err);
  if (status.kind == Fetched::Kind::Unreachable) return status.text + " (retrying)\n";
  auto view = parse_status(status.text);
  if (!view) {
    err << "canaryctl: " << c.server.text << " answered but not as canaryd does: " << view.error().message << "\n";
    return kExitRefused;
  }
  // A server without rollouts (or a refusal there) leaves the rollout line out; the sets still show.
  std::optional<RolloutView> rollout;
  if (const Fetched r = poller.get("/api/rollout"); r.kind == Fetched::Kind::Ok) {
    if (auto parsed = parse_rollout(r.text)) rollout = std::move(parsed).value();
  }
  return render_live_frame(*view, rollout, c.server.text, pacer.wall_now());
}

int watch_status(const Connection& c, Poller& poller, Pacer& pacer, std::ostream& out, std::ostream& err) {
  Screen screen(out, pacer.redraws_in_place());
  for (bool first = true;; first = false) {
    auto frame = status_frame(poller, c, pacer, first, err);
    if (const int* code = std::get_if<int>(&frame)) return *code;
    screen.draw(std::get<std::string>(frame));
    if (!pacer.keep_watching()) return kExitOk;
    pacer.sleep_for(kPeriod);
  }
}

/// `rollout status --watch`: until the rollout is finished (completed, aborted, or there is none).
int watch_rollout(const Connection& c, Poller& poller, Pacer& pacer, std::ostream& out, std::ostream& err) {
  Screen screen(out, pacer.redraws_in_place());
  for (bool first = true;; first = false) {
    const Fetched r = poller.get("/api/rollout");
    if (is_final(r, first)) return report(r, err);
    if (r.kind == Fetched::Kind::Unreachable) {
      screen.draw(r.text + " (retrying)\n");
    } else {
      auto view = parse_rollout(r.text);
      if (!view) {
        err << "canaryctl: " << c.server.text << " answered but not as canaryd does: " << view.error().message << "\n";
        return kExitRefused;
      }
      screen.draw(render_rollout(*view, pacer.wall_now()));
      if (view->finished()) return kExitOk;
    }
    if (!pacer.keep_watching()) return kExitOk;
    pacer.sleep_for(kPeriod);
  }
}

/// One poll of `wait`, judged.
WaitDecision judge(const Invocation& inv, const std::string& body) {
  if (inv.wait_for == WaitFor::Healthy) {
    auto status = parse_status(body);
    if (!status) return {WaitOutcome::Failed, "the status is not canaryd's: " + status.error().message};
    return decide_healthy(*status);
  }
  auto rollout = parse_rollout(body);
  if (!rollout) return {WaitOutcome::Failed, "the rollout document is not canaryd's: " + rollout.error().message};
  return decide_completed(*rollout);
}

int wait(const Invocation& inv, Poller& poller, Pacer& pacer, std::ostream& out, std::ostream& err) {
  const std::string path = build_api_call(inv).path;
  const auto deadline = pacer.now() + inv.timeout;
  const std::string what = inv.wait_for == WaitFor::Healthy ? "healthy" : "completed";
  for (bool first = true;; first = false) {
    const Fetched r = poller.get(path);
    std::string pending;
    if (is_final(r, first)) return report(r, err);
    if (r.kind == Fetched::Kind::Unreachable) {
      pending = r.text;
    } else {
      const WaitDecision d = judge(inv, r.text);
      if (d.outcome == WaitOutcome::Reached) {
        out << d.message << "\n";
        return kExitOk;
      }
      if (d.outcome == WaitOutcome::Failed) {
        err << "error: " << d.message << "\n";
        return kExitRefused;
      }
      pending = d.message;
    }
    const auto now = pacer.now();
    if (now >= deadline) {
      err << "error: timed out after " << config::format_duration(inv.timeout) << " waiting for " << what << ": "
          << pending << "\n";
      return r.kind == Fetched::Kind::Unreachable ? kExitUnreachable : kExitRefused;
    }
    pacer.sleep_for(std::min(kPeriod, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)));
  }
}

}  // namespace

bool is_live(const Invocation& inv) { return inv.watch || inv.command == Command::Wait; }

int run_live(const Invocation& inv, const Connection& c, Transport& transport, Pacer& pacer, std::ostream& out,
             std::ostream& err) {
  Poller poller(c, transport);
  if (inv.command == Command::Wait) return wait(inv, poller, pacer, out, err);
  if (inv.command == Command::RolloutStatus) return watch_rollout(c, poller, pacer, out, err);
  return watch_status(c, poller, pacer, out, err);
}

}  // namespace canaryd::ctl
