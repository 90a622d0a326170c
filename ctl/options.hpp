// canaryctl's commands and options: a command line parsed and validated into an Invocation or a usage
// error, and the help texts.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/result.hpp"

namespace canaryd::ctl {

enum class Command {
  Help,
  Version,
  Status,
  History,
  Weight,
  Promote,
  Rollback,
  Undo,
  CanarySet,
  CanaryRemove,
  RolloutStart,    ///< rollout start [-f plan.yaml]
  RolloutStatus,   ///< rollout status [--watch]
  RolloutPause,    ///< rollout pause
  RolloutResume,   ///< rollout resume
  RolloutAbort,    ///< rollout abort [--cause TEXT]
  RolloutPromote,  ///< rollout promote
  Wait,            ///< wait [--for completed|healthy] [--timeout D]
  Route,           ///< route [--cookie NAME=V]... [--header NAME=V]... [--client-ip IP]: POST /api/explain
  Completion,      ///< completion bash|zsh: prints a shell completion script, no call
};

/// What `wait` waits for.
enum class WaitFor { Completed, Healthy };

/// `wait`'s default --timeout.
inline constexpr std::chrono::milliseconds kDefaultWaitTimeout{10 * 60 * 1000};

enum class OutputFormat { Table, Json };

/// One canaryctl invocation, validated: everything a usage error could be about has been checked.
struct Invocation {
  Command command = Command::Help;
  std::optional<std::string> server;      ///< -s/--server, as given (parsed later, with CANARYD_URL)
  std::optional<std::string> token_file;  ///< --token-file
  OutputFormat output = OutputFormat::Table;
  std::string percent;                    ///< weight PERCENT / canary --weight, as JSON number text
  std::string selector;                   ///< canary SELECTOR
  std::optional<std::uint64_t> to_revision;  ///< undo --to-revision
  std::optional<std::uint64_t> if_revision;  ///< --if-revision on a change
  std::optional<std::uint64_t> revision;     ///< history --revision N: that one revision in full
  bool client_only = false;               ///< version --client (and --version): no call to the server
  std::string shell;                      ///< completion SHELL: "bash" or "zsh"
  bool force = false;                     ///< promote --force: past the promote gate
  std::optional<std::string> cause;       ///< --cause, when given
  std::optional<std::string> plan_file;   ///< rollout start -f FILE
  bool watch = false;                     ///< status --watch, rollout status --watch
  WaitFor wait_for = WaitFor::Completed;  ///< wait --for
  std::chrono::milliseconds timeout = kDefaultWaitTimeout;  ///< wait --timeout
  std::vector<std::pair<std::string, std::string>> cookies;  ///< route --cookie NAME=V, in order
  std::vector<std::pair<std::string, std::string>> headers;  ///< route --header NAME=V, in order
  std::optional<std::string> client_ip;                      ///< route --client-ip
  std::string help_topic;                 ///< `rollout --help`, `help wait`: the command asked about
  std::string default_cause;              ///< the command line without the connection options

  /// What a change records: --cause, else the command line.
  const std::string& effective_cause() const { return cause ? *cause : default_cause; }
};

/// A plainly wrong command line; canaryctl prints it with the short usage and exits 2.
struct UsageError {
  std::string message;
};

using ParseResult = Result<Invocation, UsageError>;

/// Parses the arguments after the program name. Pure: no environment, no files.
ParseResult parse_args(const std::vector<std::string>& args);

/// True for the commands that change the routing state (they take --cause).
bool is_change(Command command);

/// True for `rollout ...` (their answer is the GET /api/rollout document).
bool is_rollout(Command command);

/// The few lines printed under a usage error.
std::string short_usage();

/// The --help text.
std::string full_help();

/// The command words (`status`, `rollout` ...), the rollout subcommands and the long options with
/// their short forms, for the shell completion scripts (completion.hpp).
std::vector<std::string_view> command_names();
std::vector<std::string_view> rollout_subcommand_names();
struct OptionName {
  std::string_view long_name;  ///< without the dashes
  char short_name;             ///< 0 when there is none
  bool takes_value;
};
std::vector<OptionName> option_names();

/// The help of one command ("status", "wait", "rollout", "rollout start" ...); every command has one.
/// Empty for a topic without its own text (the caller prints full_help()).
std::string command_help(std::string_view topic);

}  // namespace canaryd::ctl
