// The demo's printed hints (see demo_hint.hpp).
#include "proxy/control/demo_hint.hpp"

#include <unistd.h>

#include <cstdlib>
#include <system_error>

namespace canaryd::proxy {
namespace fs = std::filesystem;

namespace {

std::string shell_quoted(const std::string& word) {
  bool plain = !word.empty();
  for (char c : word) {
    const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      std::string_view("_-./+:@%,=").find(c) != std::string_view::npos;
    plain = plain && safe;
  }
  if (plain) return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The first executable NAME on PATH, or empty. An empty PATH entry is the working directory.
fs::path first_on_path(std::string_view path_env, const fs::path& cwd, const char* name) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t colon = path_env.find(':', start);
    const std::string_view dir = path_env.substr(start, colon == std::string_view::npos ? colon : colon - start);
    const fs::path candidate = (dir.empty() ? cwd : fs::path(dir)) / name;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) return {};
    start = colon + 1;
  }
}

// `target` relative to `cwd` when below it ("build", "."), else (and from /) absolute; `prefix`: "" or "./".
std::string path_from(const fs::path& target, const fs::path& cwd, const std::string& prefix) {
  const fs::path rel = target.lexically_normal().lexically_relative(cwd.lexically_normal());
  if (rel == ".") return ".";
  const bool below = !rel.empty() && *rel.begin() != ".." && cwd.relative_path() != "";
  if (below) return shell_quoted(prefix + rel.generic_string());
  return shell_quoted(target.lexically_normal().generic_string());
}

}  // namespace

std::string canaryctl_command(const fs::path& canaryctl, const fs::path& cwd, std::string_view path_env) {
  const fs::path on_path = first_on_path(path_env, cwd, "canaryctl");
  std::error_code ec;
  if (!on_path.empty() && fs::equivalent(on_path, canaryctl, ec)) return "canaryctl";
  return path_from(canaryctl, cwd, "./");
}

std::string demo_hint(const std::string& canaryctl, const std::string& install_from) {
  std::string out =
      "canaryd demo: stable version=v1 (3 endpoints), canary version=v2 (1 endpoint), canary weight 10%\n"
      "proxy on http://127.0.0.1:8080, control API on http://127.0.0.1:9901\n";
  out += canaryctl.rfind("./", 0) == 0 ? "try, in another terminal in this directory:\n"
                                       : "try, in another terminal:\n";
  out += "  for i in $(seq 20); do curl -sI http://127.0.0.1:8080/ | grep -i x-canary-set; done | sort | uniq -c\n"
         "  curl -s -H 'X-Canary: always' http://127.0.0.1:8080/\n";
  for (const char* command : {"status", "weight 25", "history", "promote", "undo"})
    out += "  " + canaryctl + " " + command + "\n";
  out += "  curl -s http://127.0.0.1:9901/metrics | grep canaryd_requests_total\n";
  if (!install_from.empty())
    out += "canaryd and canaryctl on PATH: cmake --install " + install_from +
           " (as root; puts both in /usr/local/bin)\n";
  out += "stop with Ctrl-C\n";
  return out;
}

std::string demo_hint_for(const fs::path& exe) {
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  const fs::path dir = exe.parent_path();
  const char* path_env = std::getenv("PATH");
  const std::string canaryctl = canaryctl_command(dir / "canaryctl", cwd, path_env ? path_env : "");
  std::string install_from;
  if (canaryctl != "canaryctl" && fs::exists(dir / "CMakeCache.txt", ec)) install_from = path_from(dir, cwd, "");
  return demo_hint(canaryctl, install_from);
}

}  // namespace canaryd::proxy
