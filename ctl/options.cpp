// canaryctl's command-line grammar (see options.hpp): the option table, the scan, per-command rules, the
// usage and help texts.
#include "ctl/options.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <string_view>

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
};

constexpr std::array<OptionSpec, 11> kOptions{{
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

    if (!s.options.emplace(std::string(spec->name), value).second) {
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

constexpr std::array<CommandName, 9> kCommands{{
    {"status", Command::Status},
    {"history", Command::History},
    {"weight", Command::Weight},
    {"promote", Command::Promote},
    {"rollback", Command::Rollback},
    {"undo", Command::Undo},
    {"canary", Command::CanarySet},  // --remove turns it into CanaryRemove
    {"help", Command::Help},
    {"version", Command::Version},
}};

/// Which command options each command accepts.
bool option_allowed(Command command, std::string_view option) {
  if (option == "cause" || option == "if-revision") return is_change(command);
  if (option == "to-revision") return command == Command::Undo;
  if (option == "force") return command == Command::Promote;
  if (option == "weight") return command == Command::CanarySet;
  if (option == "remove") return command == Command::CanarySet || command == Command::CanaryRemove;
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

}  // namespace

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
      return false;
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
  if (opt("help") != nullptr) return inv;
  if (opt("version") != nullptr) {
    inv.command = Command::Version;
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

  if (s.positionals.empty()) return usage_error("missing command");
  const std::string& name = s.positionals.front();
  const std::vector<std::string> rest(s.positionals.begin() + 1, s.positionals.end());
  const auto found = std::find_if(kCommands.begin(), kCommands.end(),
                                  [&name](const CommandName& c) { return c.name == name; });
  if (found == kCommands.end()) return usage_error("unknown command \"" + name + "\"");
  inv.command = found->command;
  if (inv.command == Command::CanarySet && opt("remove") != nullptr) inv.command = Command::CanaryRemove;

  for (const auto& [option, value] : s.options) {
    if (!option_allowed(inv.command, option)) {
      return usage_error("option --" + option + " does not apply to " + name +
                        (inv.command == Command::CanaryRemove ? " --remove" : ""));
    }
  }

  Result<void, UsageError> arguments;
  switch (inv.command) {
    case Command::Help:
    case Command::Version:
    case Command::Status:
    case Command::History:
    case Command::Promote:
    case Command::Rollback:
    case Command::Undo:
    case Command::CanaryRemove:
      arguments = expect_arguments(name, rest, 0, "");
      break;
    case Command::Weight:
      arguments = expect_arguments(name, rest, 1, "one PERCENT");
      if (arguments) {
        auto text = percent_json_text(rest[0]);
        if (!text) return usage_error("PERCENT must be a number, not \"" + rest[0] + "\"");
        inv.percent = *text;
      }
      break;
    case Command::CanarySet:
      arguments = expect_arguments(name, rest, 1, "one SELECTOR (or --remove)");
      if (arguments) {
        if (rest[0].empty()) return usage_error("SELECTOR must not be empty");
        inv.selector = rest[0];
      }
      break;
  }
  if (!arguments) return fail(std::move(arguments).error());

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
  if (const auto* v = opt("cause")) inv.cause = *v;
  inv.force = opt("force") != nullptr;
  inv.default_cause = command_line_cause(s.cause_words);
  return inv;
}

std::string short_usage() {
  return "usage: canaryctl [-s URL] [--token-file FILE] [-o json|table] COMMAND [ARGS]\n"
         "commands: status | history | weight PERCENT | promote [--force] | rollback | undo [--to-revision N]\n"
         "          canary SELECTOR [--weight PERCENT] | canary --remove\n"
         "Run 'canaryctl --help' for more.\n";
}

std::string full_help() {
  return "canaryctl: drives canaryd's control API.\n"
         "\n"
         "usage: canaryctl [options] COMMAND [ARGS]\n"
         "\n"
         "commands:\n"
         "  status                          the routing state: revision, weight, stable and canary sets\n"
         "  history                         the revisions kept, oldest first\n"
         "  weight PERCENT                  sends PERCENT (0-100, up to two decimals) of requests to canary\n"
         "  promote [--force]               the canary becomes stable; no canary afterwards; refused while\n"
         "                                  no canary endpoint is healthy, unless --force\n"
         "  rollback                        abort: the canary serves nothing at all (overrides included)\n"
         "                                  until a weight is set again; the canary set stays defined\n"
         "  undo [--to-revision N]          restores revision N (default: the one before) as a new revision\n"
         "  canary SELECTOR [--weight P]    defines the canary set by label selector (weight default 0)\n"
         "  canary --remove                 removes the canary set\n"
         "\n"
         "options:\n"
         "  -s, --server URL     control address (env CANARYD_URL, default http://127.0.0.1:9901)\n"
         "  --token-file FILE    file holding the API token (env CANARYD_TOKEN holds the token itself)\n"
         "  -o, --output FORMAT  json (the server's answer as is) or table (default)\n"
         "  --cause TEXT         recorded with a change (default: the canaryctl command line)\n"
         "  --if-revision N      a change applies only while the current revision is N (else refused)\n"
         "  -h, --help           this text\n"
         "  --version            the version\n"
         "\n"
         "A change that changes nothing (the same weight again) is reported as unchanged and exits 0.\n"
         "exit status: 0 ok, 1 the server refused, 2 usage error, 3 cannot reach the server\n";
}

}  // namespace canaryd::ctl
