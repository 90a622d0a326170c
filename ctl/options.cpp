// canaryctl's command-line grammar (see options.hpp): the option table, the scan, per-command rules, the
// usage and help texts.
#include "ctl/options.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <string_view>

#include "config/duration.hpp"
#include "ctl/cause.hpp"
#include "ctl/numbers.hpp"

namespace canaryd::ctl {
namespace {

/// Connection and output options are left out of the recorded cause: they say where and how, not what.
enum class Scope { Connection, Command };

struct OptionSpec {
  std::string_view name;  ///< long name without dashes; also the key in the parsed map
  char short_name;        ///< 0 when there is none
  bool takes_value;
  Scope scope;
  bool repeatable = false;  ///< may be given more than once (route --cookie, --header)
};

constexpr std::array<OptionSpec, 20> kOptions{{
    {"server", 's', true, Scope::Connection},
    {"token-file", 0, true, Scope::Connection},
    {"output", 'o', true, Scope::Connection},
    {"help", 'h', false, Scope::Connection},
    {"version", 0, false, Scope::Connection},
    {"cause", 0, true, Scope::Command},
    {"weight", 0, true, Scope::Command},
    {"remove", 0, false, Scope::Command},
    {"to-revision", 0, true, Scope::Command},
    {"if-revision", 0, true, Scope::Command},
    {"force", 0, false, Scope::Command},
    {"file", 'f', true, Scope::Command},
    // How to watch or wait says nothing about the change itself.
    {"watch", 'w', false, Scope::Connection},
    {"for", 0, true, Scope::Connection},
    {"timeout", 0, true, Scope::Connection},
    // route describes a request; it changes nothing, so there is no cause to record.
    {"cookie", 0, true, Scope::Connection, true},
    {"header", 0, true, Scope::Connection, true},
    {"client-ip", 0, true, Scope::Connection},
    // history --revision N reads; version --client asks nothing of the server.
    {"revision", 0, true, Scope::Connection},
    {"client", 0, false, Scope::Connection},
}};

const OptionSpec* find_long(std::string_view name) {
  for (const auto& o : kOptions) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

const OptionSpec* find_short(char c) {
  for (const auto& o : kOptions) {
    if (o.short_name != 0 && o.short_name == c) return &o;
  }
  return nullptr;
}

Failure<UsageError> usage_error(std::string message) { return fail(UsageError{std::move(message)}); }

/// The raw split of a command line before any command-specific rule.
struct Scanned {
  std::map<std::string, std::string, std::less<>> options;  ///< name -> value ("" for flags)
  std::map<std::string, std::vector<std::string>, std::less<>> repeated;  ///< every value of a repeatable one
  std::vector<std::string> positionals;
  std::vector<std::string> cause_words;
};

Result<Scanned, UsageError> scan(const std::vector<std::string>& args) {
  Scanned s;
  bool options_ended = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    const bool is_option = !options_ended && word.size() > 1 && word.front() == '-' && !looks_negative_number(word);
    if (!is_option) {
      s.positionals.push_back(word);
      s.cause_words.push_back(word);
      continue;
    }
    if (word == "--") {
      options_ended = true;
      s.cause_words.push_back(word);
      continue;
    }

    const OptionSpec* spec = nullptr;
    std::optional<std::string> attached;
    std::string shown;  // how the option is named in messages
    if (word.starts_with("--")) {
      const auto eq = word.find('=');
      shown = word.substr(0, eq);
      spec = find_long(std::string_view(word).substr(2, eq == std::string::npos ? std::string::npos : eq - 2));
      if (eq != std::string::npos) attached = word.substr(eq + 1);
    } else {
      shown = word.substr(0, 2);
      spec = find_short(word[1]);
      if (word.size() > 2) attached = word.substr(2);  // -ojson, like getopt
    }
    if (spec == nullptr) return usage_error("unknown option " + shown);

    std::string value;
    std::vector<std::string> words{word};
    if (spec->takes_value) {
      if (attached) {
        value = *attached;
      } else if (i + 1 < args.size()) {
        value = args[++i];
        words.push_back(value);
      } else {
        return usage_error("option " + shown + " needs a value");
      }
    } else if (attached) {
      return usage_error("option " + shown + " takes no value");
    }

    if (spec->repeatable) s.repeated[std::string(spec->name)].push_back(value);
    if (!s.options.emplace(std::string(spec->name), value).second && !spec->repeatable) {
      return usage_error("option --" + std::string(spec->name) + " given twice");
    }
    if (spec->scope == Scope::Command) {
      s.cause_words.insert(s.cause_words.end(), words.begin(), words.end());
    }
  }
  return s;
}

struct CommandName {
  std::string_view name;
  Command command;
};

constexpr std::array<CommandName, 13> kCommands{{
    {"status", Command::Status},
    {"history", Command::History},
    {"weight", Command::Weight},
    {"promote", Command::Promote},
    {"rollback", Command::Rollback},
    {"undo", Command::Undo},
    {"canary", Command::CanarySet},  // --remove turns it into CanaryRemove
    {"help", Command::Help},
    {"version", Command::Version},
    {"rollout", Command::RolloutStatus},  // the subcommand word picks which rollout command
    {"wait", Command::Wait},
    {"route", Command::Route},
    {"completion", Command::Completion},
}};

constexpr std::array<CommandName, 6> kRolloutCommands{{
    {"start", Command::RolloutStart},
    {"status", Command::RolloutStatus},
    {"pause", Command::RolloutPause},
    {"resume", Command::RolloutResume},
    {"abort", Command::RolloutAbort},
    {"promote", Command::RolloutPromote},
}};

template <std::size_t N>
const CommandName* find_command(const std::array<CommandName, N>& table, std::string_view name) {
  const auto it = std::find_if(table.begin(), table.end(), [name](const CommandName& c) { return c.name == name; });
  return it == table.end() ? nullptr : &*it;
}

/// The help topic a line asks about: "wait", "rollout start", or "" when it names no command.
std::string help_topic(const std::vector<std::string>& positionals) {
  std::size_t first = 0;
  if (!positionals.empty() && positionals[0] == "help") first = 1;  // `canaryctl help rollout start`
  if (positionals.size() <= first) return {};
  const std::string& name = positionals[first];
  if (find_command(kCommands, name) == nullptr) return {};
  if (name == "rollout" && positionals.size() > first + 1 && find_command(kRolloutCommands, positionals[first + 1])) {
    return name + " " + positionals[first + 1];
  }
  return name;
}

/// Which command options each command accepts.
bool option_allowed(Command command, std::string_view option) {
  if (option == "cause" || option == "if-revision") return is_change(command);
  if (option == "to-revision") return command == Command::Undo;
  if (option == "force") return command == Command::Promote;
  if (option == "weight") return command == Command::CanarySet;
  if (option == "file") return command == Command::RolloutStart;
  if (option == "watch") return command == Command::Status || command == Command::RolloutStatus;
  if (option == "for" || option == "timeout") return command == Command::Wait;
  if (option == "cookie" || option == "header" || option == "client-ip") return command == Command::Route;
  if (option == "remove") return command == Command::CanarySet || command == Command::CanaryRemove;
  if (option == "revision") return command == Command::History;
  if (option == "client") return command == Command::Version;
  return true;  // connection options
}

Result<void, UsageError> expect_arguments(std::string_view command, const std::vector<std::string>& args,
                                          std::size_t count, std::string_view what) {
  if (args.size() < count) return usage_error(std::string(command) + " needs " + std::string(what));
  if (args.size() > count) {
    return usage_error(std::string(command) + " takes " +
                      (count == 0 ? std::string("no argument") : std::string(what)) + ", got extra \"" +
                      args[count] + "\"");
  }
  return {};
}

/// The command a line names: its words ("rollout start") for messages, and the arguments after them.
struct NamedCommand {
  Command command;
  std::string name;
  std::vector<std::string> rest;
};

Result<NamedCommand, UsageError> select_command(const std::vector<std::string>& positionals, bool remove) {
  if (positionals.empty()) return usage_error("missing command");
  NamedCommand c{Command::Help, positionals.front(), {positionals.begin() + 1, positionals.end()}};
  const CommandName* found = find_command(kCommands, c.name);
  if (found == nullptr) return usage_error("unknown command \"" + c.name + "\"");
  c.command = found->command;
  if (c.command == Command::CanarySet && remove) c.command = Command::CanaryRemove;
  if (c.name == "rollout") {
    if (c.rest.empty()) return usage_error("rollout needs a subcommand: start|status|pause|resume|abort|promote");
    const CommandName* sub = find_command(kRolloutCommands, c.rest.front());
    if (sub == nullptr) return usage_error("unknown rollout subcommand \"" + c.rest.front() + "\"");
    c.command = sub->command;
    c.name += " " + c.rest.front();
    c.rest.erase(c.rest.begin());
  }
  return c;
}

/// The positional arguments of the command: PERCENT, SELECTOR, or none.
Result<void, UsageError> read_arguments(Invocation& inv, const std::string& name, const std::vector<std::string>& rest) {
  switch (inv.command) {
    case Command::Weight: {
      auto arguments = expect_arguments(name, rest, 1, "one PERCENT");
      if (!arguments) return arguments;
      auto text = percent_json_text(rest[0]);
      if (!text) return usage_error("PERCENT must be a number, not \"" + rest[0] + "\"");
      inv.percent = *text;
      return {};
    }
    case Command::CanarySet: {
      auto arguments = expect_arguments(name, rest, 1, "one SELECTOR (or --remove)");
      if (!arguments) return arguments;
      if (rest[0].empty()) return usage_error("SELECTOR must not be empty");
      inv.selector = rest[0];
      return {};
    }
    case Command::Completion: {
      auto arguments = expect_arguments(name, rest, 1, "one SHELL (bash or zsh)");
      if (!arguments) return arguments;
      if (rest[0] != "bash" && rest[0] != "zsh") {
        return usage_error("completion: SHELL must be bash or zsh, not \"" + rest[0] + "\"");
      }
      inv.shell = rest[0];
      return {};
    }
    default:
      return expect_arguments(name, rest, 0, "");
  }
}

/// The options of `rollout start`, the watching commands and `wait` (option_allowed already checked
/// which command takes which).
Result<void, UsageError> read_watch_and_wait(Invocation& inv, const std::string* file, const std::string* watch,
                                             const std::string* wait_for, const std::string* timeout) {
  if (file != nullptr) {
    if (file->empty()) return usage_error("-f needs a file name");
    inv.plan_file = *file;
  }
  inv.watch = watch != nullptr;
  if (inv.watch && inv.output == OutputFormat::Json) {
    return usage_error("--watch draws a live view; it does not combine with -o json");
  }
  if (wait_for != nullptr) {
    if (*wait_for == "completed") {
      inv.wait_for = WaitFor::Completed;
    } else if (*wait_for == "healthy") {
      inv.wait_for = WaitFor::Healthy;
    } else {
      return usage_error("--for must be completed or healthy, not \"" + *wait_for + "\"");
    }
  }
  if (timeout != nullptr) {
    auto d = config::parse_duration(*timeout);
    if (!d) return usage_error("--timeout must be a duration such as 90s, 10m or 1h, not \"" + *timeout + "\"");
    inv.timeout = *d;
  }
  return {};
}

/// route's --cookie/--header NAME=VALUE (split at the first '='; the value may be empty).
Result<std::vector<std::pair<std::string, std::string>>, UsageError> read_pairs(
    std::string_view option, const std::vector<std::string>& values) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& v : values) {
    const auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0) {
      return usage_error("--" + std::string(option) + " must be NAME=VALUE, not \"" + v + "\"");
    }
    out.emplace_back(v.substr(0, eq), v.substr(eq + 1));
  }
  return out;
}

/// route's options: the request to explain.
Result<void, UsageError> read_route(Invocation& inv, const Scanned& s) {
  const auto values = [&s](std::string_view name) {
    auto it = s.repeated.find(name);
    return it == s.repeated.end() ? std::vector<std::string>{} : it->second;
  };
  auto cookies = read_pairs("cookie", values("cookie"));
  if (!cookies) return fail(std::move(cookies).error());
  inv.cookies = std::move(cookies).value();
  auto headers = read_pairs("header", values("header"));
  if (!headers) return fail(std::move(headers).error());
  inv.headers = std::move(headers).value();
  if (auto it = s.options.find("client-ip"); it != s.options.end()) {
    if (it->second.empty()) return usage_error("--client-ip needs an address");
    inv.client_ip = it->second;
  }
  return {};
}

}  // namespace

std::vector<std::string_view> command_names() {
  std::vector<std::string_view> out;
  for (const auto& c : kCommands) out.push_back(c.name);
  return out;
}

std::vector<std::string_view> rollout_subcommand_names() {
  std::vector<std::string_view> out;
  for (const auto& c : kRolloutCommands) out.push_back(c.name);
  return out;
}

std::vector<OptionName> option_names() {
  std::vector<OptionName> out;
  for (const auto& o : kOptions) out.push_back({o.name, o.short_name, o.takes_value});
  return out;
}

bool is_rollout(Command command) {
  return command >= Command::RolloutStart && command <= Command::RolloutPromote;
}

bool is_change(Command command) {
  switch (command) {
    case Command::Weight:
    case Command::Promote:
    case Command::Rollback:
    case Command::Undo:
    case Command::CanarySet:
    case Command::CanaryRemove:
      return true;
    default:
      return is_rollout(command) && command != Command::RolloutStatus;
  }
}

ParseResult parse_args(const std::vector<std::string>& args) {
  auto scanned = scan(args);
  if (!scanned) return fail(std::move(scanned).error());
  auto& s = *scanned;

  Invocation inv;
  const auto opt = [&s](std::string_view name) -> const std::string* {
    auto it = s.options.find(name);
    return it == s.options.end() ? nullptr : &it->second;
  };

  // Asking for help or the version always works, whatever else the line says.
  if (opt("help") != nullptr || (!s.positionals.empty() && s.positionals[0] == "help")) {
    inv.help_topic = help_topic(s.positionals);
    return inv;
  }
  if (opt("version") != nullptr) {
    inv.command = Command::Version;
    inv.client_only = true;  // `--version` stays what it was: the client's, without a call
    return inv;
  }

  if (const auto* v = opt("server")) inv.server = *v;
  if (const auto* v = opt("token-file")) {
    if (v->empty()) return usage_error("--token-file needs a file name");
    inv.token_file = *v;
  }
  if (const auto* v = opt("output")) {
    if (*v == "json") {
      inv.output = OutputFormat::Json;
    } else if (*v == "table") {
      inv.output = OutputFormat::Table;
    } else {
      return usage_error("-o must be json or table, not \"" + *v + "\"");
    }
  }

  auto selected = select_command(s.positionals, opt("remove") != nullptr);
  if (!selected) return fail(std::move(selected).error());
  const auto& [command, name, rest] = *selected;
  inv.command = command;

  for (const auto& [option, value] : s.options) {
    if (!option_allowed(inv.command, option)) {
      return usage_error("option --" + option + " does not apply to " + name +
                        (inv.command == Command::CanaryRemove ? " --remove" : ""));
    }
  }

  if (auto arguments = read_arguments(inv, name, rest); !arguments) return fail(std::move(arguments).error());

  if (const auto* v = opt("weight")) {
    auto text = percent_json_text(*v);
    if (!text) return usage_error("--weight must be a number, not \"" + *v + "\"");
    inv.percent = *text;
  }
  if (const auto* v = opt("to-revision")) {
    inv.to_revision = parse_positive_integer(*v);
    if (!inv.to_revision) return usage_error("--to-revision must be a positive integer, not \"" + *v + "\"");
  }
  if (const auto* v = opt("if-revision")) {
    inv.if_revision = parse_positive_integer(*v);
    if (!inv.if_revision) return usage_error("--if-revision must be a positive integer, not \"" + *v + "\"");
  }
  if (const auto* v = opt("revision")) {
    inv.revision = parse_positive_integer(*v);
    if (!inv.revision) return usage_error("--revision must be a positive integer, not \"" + *v + "\"");
  }
  inv.client_only = opt("client") != nullptr;
  if (const auto* v = opt("cause")) inv.cause = *v;
  inv.force = opt("force") != nullptr;
  if (auto watching = read_watch_and_wait(inv, opt("file"), opt("watch"), opt("for"), opt("timeout")); !watching) {
    return fail(std::move(watching).error());
  }
  if (auto route = read_route(inv, s); !route) return fail(std::move(route).error());
  inv.default_cause = command_line_cause(s.cause_words);
  return inv;
}

}  // namespace canaryd::ctl
