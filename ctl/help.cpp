// canaryctl's help texts: the short usage under a usage error, the full --help, and the help of each
// command (`canaryctl rollout start --help`, `canaryctl help wait`).
#include <array>
#include <string>
#include <string_view>

#include "ctl/options.hpp"

namespace canaryd::ctl {
namespace {

struct Topic {
  std::string_view name;
  std::string_view text;
};

constexpr std::string_view kOptionsHint = "\nRun 'canaryctl --help' for the connection options (-s, --token-file, -o).\n";

constexpr std::array<Topic, 19> kTopics{{
    {"status",
     "usage: canaryctl status [--watch]\n"
     "\n"
     "The routing state: revision, canary weight, and per set its selector, configured share (SHARE),\n"
     "the share it actually served in the last minute (SERVED) and its endpoints.\n"
     "\n"
     "  -w, --watch  a live view redrawn every second until interrupted (Ctrl-C): per set the configured\n"
     "               and served share as bars, req/s, error rate and p99 (from a running rollout's\n"
     "               analysis), healthy endpoints, and the rollout's step and verdict\n"},
    {"history",
     "usage: canaryctl history [--revision N]\n"
     "\n"
     "The revisions kept (the config's history_limit), oldest first, one row each: weight, stable and\n"
     "canary selectors and the change's cause, like `kubectl rollout history`.\n"
     "\n"
     "  --revision N  that one revision in full: its time, weight, both selectors, the whole cause, and\n"
     "                what changed from the revision before it (exit 1 when N is not kept)\n"},
    {"weight",
     "usage: canaryctl weight PERCENT [--cause TEXT] [--if-revision N]\n"
     "\n"
     "Sends PERCENT of the requests to the canary set (0 to 100, up to two decimals: 2.5, 33.33); the\n"
     "rest go to stable. Ends a rollback's abort. Refused when no canary set is defined.\n"},
    {"promote",
     "usage: canaryctl promote [--force] [--cause TEXT] [--if-revision N]\n"
     "\n"
     "The canary becomes stable (stable selector := canary selector), no canary afterwards, weight 0.\n"
     "Refused while no canary endpoint is healthy.\n"
     "\n"
     "  --force  promote anyway, past that check\n"},
    {"rollback",
     "usage: canaryctl rollback [--cause TEXT] [--if-revision N]\n"
     "\n"
     "Abort: the canary serves nothing at all (override headers and cookies included) until a weight is\n"
     "set again. The canary set stays defined.\n"},
    {"undo",
     "usage: canaryctl undo [--to-revision N] [--cause TEXT] [--if-revision N]\n"
     "\n"
     "Restores the selectors and weight of revision N (default: the one before the current) as a new\n"
     "revision. 'canaryctl history' lists the revisions kept.\n"},
    {"canary",
     "usage: canaryctl canary SELECTOR [--weight PERCENT] [--cause TEXT] [--if-revision N]\n"
     "       canary --remove [--cause TEXT] [--if-revision N]\n"
     "\n"
     "Defines the canary set by label selector (\"version=v3\", \"version in (v3)\"), joined with the\n"
     "service selector; its weight defaults to 0. Refused when it overlaps the stable set.\n"
     "\n"
     "  --weight PERCENT  the new canary's weight\n"
     "  --remove          removes the canary set (weight 0)\n"},
    {"version",
     "usage: canaryctl version [--client]\n"
     "\n"
     "Prints canaryctl's version and the version of the canaryd it talks to (from /api/status, else\n"
     "from canaryd_build_info in /metrics, which needs no token). -o json prints {\"client\", \"server\"}.\n"
     "When canaryd cannot be reached, prints the client's version and exits 3.\n"
     "\n"
     "  --client  only canaryctl's version; no call (as 'canaryctl --version')\n"},
    {"completion",
     "usage: canaryctl completion bash|zsh\n"
     "\n"
     "Prints a shell completion script for commands, rollout subcommands and options.\n"
     "\n"
     "  bash:  source <(canaryctl completion bash)        (in ~/.bashrc), or\n"
     "         canaryctl completion bash > /etc/bash_completion.d/canaryctl\n"
     "  zsh:   source <(canaryctl completion zsh)         (in ~/.zshrc, after compinit), or\n"
     "         canaryctl completion zsh > \"${fpath[1]}/_canaryctl\"\n"},
    {"help",
     "usage: canaryctl help [COMMAND]\n"
     "       canaryctl COMMAND --help\n"
     "\n"
     "The help of one command, or without COMMAND the whole help ('canaryctl --help').\n"},
    {"rollout",
     "usage: canaryctl rollout start [-f plan.yaml] [--cause TEXT] [--if-revision N]\n"
     "       canaryctl rollout status [--watch]\n"
     "       canaryctl rollout pause|resume|promote\n"
     "       canaryctl rollout abort [--cause TEXT]\n"
     "\n"
     "A rollout is a plan of steps that canaryd walks by itself (weight, pause, promote), watched by\n"
     "its analysis, which may abort it. Run 'canaryctl rollout SUBCOMMAND --help' for each.\n"},
    {"rollout start",
     "usage: canaryctl rollout start [-f plan.yaml] [--cause TEXT] [--if-revision N]\n"
     "\n"
     "Starts a rollout at step 1. The plan file is the `rollout:` map of the config (steps, analysis),\n"
     "either alone or under a top-level `rollout:` key (a whole canaryd config works too). Without -f\n"
     "canaryd runs the plan of its own config. canaryd validates the plan and names the wrong field.\n"
     "\n"
     "  -f, --file FILE   the plan (YAML; - reads standard input)\n"},
    {"rollout status",
     "usage: canaryctl rollout status [--watch]\n"
     "\n"
     "Where the rollout stands: phase, step i/N, weight, the pause, the analysis' verdict and per set\n"
     "requests, error rate and p99, and the reason.\n"
     "\n"
     "  -w, --watch  refreshes every second until the rollout is completed or aborted (or there is none)\n"},
    {"rollout pause", "usage: canaryctl rollout pause\n\nHolds the rollout at its step (a timed pause keeps the time it has left).\n"},
    {"rollout resume", "usage: canaryctl rollout resume\n\nContinues a paused rollout; ends a manual pause.\n"},
    {"rollout abort",
     "usage: canaryctl rollout abort [--cause TEXT]\n\n"
     "Aborts the rollout: the canary serves nothing at all (abort means zero), phase aborted, with the\n"
     "cause as its reason (without --cause, canaryd's own).\n"},
    {"rollout promote",
     "usage: canaryctl rollout promote\n\n"
     "Skips the remaining steps and promotes the canary (refused while no canary endpoint is healthy).\n"},
    {"wait",
     "usage: canaryctl wait [--for completed|healthy] [--timeout 10m]\n"
     "\n"
     "Polls every second until the condition holds, for CI pipelines that gate on a release.\n"
     "\n"
     "  --for completed  (default) the rollout completed; fails at once when it is aborted or there is none\n"
     "  --for healthy    stable, and canary if defined, each have a healthy endpoint and nothing is\n"
     "                   aborted; fails at once when the canary is aborted\n"
     "  --timeout D      give up after D (90s, 10m, 1h; default 10m)\n"
     "\n"
     "Prints one line saying what happened. exit status: 0 reached, 1 aborted, nothing to wait for or\n"
     "timed out, 2 usage error, 3 canaryd could not be reached (a restart while waiting is waited out)\n"},
    {"route",
     "usage: canaryctl route [--cookie NAME=VALUE]... [--header NAME=VALUE]... [--client-ip IP]\n"
     "\n"
     "Which set a request with these cookies, headers and client address would go to now, and the rule\n"
     "that decided (abort, override header, override cookie, affinity, weight, then fallback), computed\n"
     "by canaryd with the data plane's own precedence (POST /api/explain). Changes nothing.\n"
     "\n"
     "  --cookie NAME=VALUE  a cookie of the request (repeatable)\n"
     "  --header NAME=VALUE  a header of the request (repeatable)\n"
     "  --client-ip IP       the client's address (override_sources, affinity key client_ip); without it\n"
     "                       the request counts as coming from outside override_sources\n"
     "\n"
     "Prints e.g. \"canary (affinity: bucket 1234 < 3000, the weight 30% in basis points)\".\n"},
}};

}  // namespace

std::string short_usage() {
  return "usage: canaryctl [-s URL] [--token-file FILE] [-o json|table] COMMAND [ARGS]\n"
         "commands: status [--watch] | history [--revision N] | weight PERCENT | promote [--force] | rollback | undo [--to-revision N]\n"
         "          canary SELECTOR [--weight PERCENT] | canary --remove\n"
         "          rollout start|status|pause|resume|abort|promote | wait [--for completed|healthy] [--timeout D]\n"
         "          route [--cookie NAME=V] [--header NAME=V] [--client-ip IP] | version | completion bash|zsh\n"
         "Run 'canaryctl --help' for more, 'canaryctl COMMAND --help' for one command.\n";
}

std::string full_help() {
  return "canaryctl: drives canaryd's control API.\n"
         "\n"
         "usage: canaryctl [options] COMMAND [ARGS]\n"
         "\n"
         "commands:\n"
         "  status [--watch]                the routing state: revision, weight, stable and canary sets;\n"
         "                                  --watch: a live view refreshed every second\n"
         "  history [--revision N]          the revisions kept, oldest first; --revision: one in full\n"
         "  weight PERCENT                  sends PERCENT (0-100, up to two decimals) of requests to canary\n"
         "  promote [--force]               the canary becomes stable; no canary afterwards; refused while\n"
         "                                  no canary endpoint is healthy, unless --force\n"
         "  rollback                        abort: the canary serves nothing at all (overrides included)\n"
         "                                  until a weight is set again; the canary set stays defined\n"
         "  undo [--to-revision N]          restores revision N (default: the one before) as a new revision\n"
         "  canary SELECTOR [--weight P]    defines the canary set by label selector (weight default 0)\n"
         "  canary --remove                 removes the canary set\n"
         "  rollout start [-f plan.yaml]    starts a rollout (the plan file, or the config's plan)\n"
         "  rollout status [--watch]        the rollout's phase, step, pause, analysis and reason\n"
         "  rollout pause|resume            holds or continues the rollout at its step\n"
         "  rollout abort [--cause TEXT]    aborts it: the canary serves nothing\n"
         "  rollout promote                 skips the remaining steps and promotes\n"
         "  wait [--for completed|healthy] [--timeout 10m]\n"
         "                                  exits 0 once the rollout completed (or the sets are healthy),\n"
         "                                  1 on abort or timeout\n"
         "  route [--cookie NAME=V] [--header NAME=V] [--client-ip IP]\n"
         "                                  which set such a request goes to now, and why\n"
         "  version [--client]              canaryctl's version and the server's\n"
         "  completion bash|zsh             a shell completion script (source <(canaryctl completion bash))\n"
         "  help [COMMAND]                  this text, or one command's ('canaryctl COMMAND --help' too)\n"
         "\n"
         "options:\n"
         "  -s, --server URL     control address (env CANARYD_URL, default http://127.0.0.1:9901)\n"
         "  --token-file FILE    file holding the API token (env CANARYD_TOKEN holds the token itself)\n"
         "  -o, --output FORMAT  json (the server's answer as is) or table (default)\n"
         "  --cause TEXT         recorded with a change (default: the canaryctl command line; for rollout\n"
         "                       commands, canaryd's own cause)\n"
         "  --if-revision N      a change applies only while the current revision is N (else refused)\n"
         "  -h, --help           this text; 'canaryctl COMMAND --help' for one command\n"
         "  --version            canaryctl's version (no call; 'canaryctl version' adds the server's)\n"
         "\n"
         "A change that changes nothing (the same weight again) is reported as unchanged and exits 0.\n"
         "A 401 means canaryd wants its API token: --token-file FILE, or CANARYD_TOKEN=the token.\n"
         "exit status: 0 ok, 1 the server refused, 2 usage error, 3 cannot reach the server\n";
}

std::string command_help(std::string_view topic) {
  for (const auto& t : kTopics) {
    if (t.name == topic) return std::string(t.text) + std::string(kOptionsHint);
  }
  return {};
}

}  // namespace canaryd::ctl
