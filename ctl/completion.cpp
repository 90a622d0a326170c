// The bash and zsh completion scripts of canaryctl (see completion.hpp): fixed shell code around word
// lists taken from options.hpp.
#include "ctl/completion.hpp"

#include <string>
#include <vector>

#include "ctl/options.hpp"

namespace canaryd::ctl {
namespace {

/// The words the scripts complete, as space-separated lists.
struct Words {
  std::string commands;       ///< status history weight ...
  std::string rollout;        ///< start status pause ...
  std::string options;        ///< --server -s --token-file ...
  std::string value_options;  ///< the options followed by a value, as a shell case pattern: -s|--server|...
};

void append(std::string& list, std::string_view word, std::string_view separator = " ") {
  if (!list.empty()) list += separator;
  list += word;
}

Words words() {
  Words w;
  for (auto c : command_names()) append(w.commands, c);
  for (auto c : rollout_subcommand_names()) append(w.rollout, c);
  for (const auto& o : option_names()) {
    append(w.options, "--" + std::string(o.long_name));
    if (o.short_name != 0) append(w.options, std::string("-") + o.short_name);
    if (!o.takes_value) continue;
    append(w.value_options, "--" + std::string(o.long_name), "|");
    if (o.short_name != 0) append(w.value_options, std::string("-") + o.short_name, "|");
  }
  return w;
}

std::string bash_script(const Words& w) {
  return "# bash completion for canaryctl. Load it with: source <(canaryctl completion bash)\n"
         "_canaryctl() {\n"
         "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
         "    local commands=\"" + w.commands + "\"\n"
         "    local rollout=\"" + w.rollout + "\"\n"
         "    local options=\"" + w.options + "\"\n"
         "    COMPREPLY=()\n"
         "    case \"$prev\" in\n"
         "        -o|--output) COMPREPLY=($(compgen -W \"json table\" -- \"$cur\")); return 0 ;;\n"
         "        --for) COMPREPLY=($(compgen -W \"completed healthy\" -- \"$cur\")); return 0 ;;\n"
         "        --token-file|-f|--file) COMPREPLY=($(compgen -f -- \"$cur\")); return 0 ;;\n"
         "        " + w.value_options + ") return 0 ;;\n"
         "    esac\n"
         "    local i cmd=\"\" cmd_at=0\n"
         "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
         "        case \"${COMP_WORDS[i]}\" in\n"
         "            " + w.value_options + ") ((i++)) ;;\n"
         "            -*) ;;\n"
         "            *) cmd=\"${COMP_WORDS[i]}\"; cmd_at=$i; break ;;\n"
         "        esac\n"
         "    done\n"
         "    if [[ \"$cur\" == -* ]]; then\n"
         "        COMPREPLY=($(compgen -W \"$options\" -- \"$cur\")); return 0\n"
         "    fi\n"
         "    case \"$cmd\" in\n"
         "        \"\"|help) COMPREPLY=($(compgen -W \"$commands\" -- \"$cur\")) ;;\n"
         "        rollout) ((COMP_CWORD == cmd_at + 1)) && COMPREPLY=($(compgen -W \"$rollout\" -- \"$cur\")) ;;\n"
         "        completion) ((COMP_CWORD == cmd_at + 1)) && COMPREPLY=($(compgen -W \"bash zsh\" -- \"$cur\")) ;;\n"
         "    esac\n"
         "    return 0\n"
         "}\n"
         "complete -F _canaryctl canaryctl\n";
}

std::string zsh_script(const Words& w) {
  return "#compdef canaryctl\n"
         "# zsh completion for canaryctl. Load it with: source <(canaryctl completion zsh) (after compinit),\n"
         "# or save it as _canaryctl in a directory of $fpath.\n"
         "_canaryctl() {\n"
         "    local -a commands rollout options\n"
         "    commands=(" + w.commands + ")\n"
         "    rollout=(" + w.rollout + ")\n"
         "    options=(" + w.options + ")\n"
         "    case \"${words[CURRENT-1]}\" in\n"
         "        -o|--output) compadd -- json table; return ;;\n"
         "        --for) compadd -- completed healthy; return ;;\n"
         "        --token-file|-f|--file) _files; return ;;\n"
         "        " + w.value_options + ") return ;;\n"
         "    esac\n"
         "    local i cmd=\"\" cmd_at=0\n"
         "    for ((i = 2; i < CURRENT; i++)); do\n"
         "        case \"${words[i]}\" in\n"
         "            " + w.value_options + ") ((i++)) ;;\n"
         "            -*) ;;\n"
         "            *) cmd=\"${words[i]}\"; cmd_at=$i; break ;;\n"
         "        esac\n"
         "    done\n"
         "    if [[ \"${words[CURRENT]}\" == -* ]]; then\n"
         "        compadd -- \"${options[@]}\"; return\n"
         "    fi\n"
         "    case \"$cmd\" in\n"
         "        \"\"|help) compadd -- \"${commands[@]}\" ;;\n"
         "        rollout) ((CURRENT == cmd_at + 1)) && compadd -- \"${rollout[@]}\" ;;\n"
         "        completion) ((CURRENT == cmd_at + 1)) && compadd -- bash zsh ;;\n"
         "    esac\n"
         "}\n"
         "if [[ \"${zsh_eval_context[-1]}\" == loadautoload ]]; then\n"
         "    _canaryctl \"$@\"\n"
         "else\n"
         "    compdef _canaryctl canaryctl\n"
         "fi\n";
}

}  // namespace

std::string completion_script(std::string_view shell) {
  if (shell == "bash") return bash_script(words());
  if (shell == "zsh") return zsh_script(words());
  return {};
}

}  // namespace canaryd::ctl
