// canaryd: the canary traffic-splitting proxy. Parses the command line (contract section 1) and runs
// the Server.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/kubeconfig.hpp"
#include "config/named_files.hpp"
#include "proxy/control/demo.hpp"
#include "proxy/control/demo_hint.hpp"
#include "proxy/control/hot_upgrade.hpp"
#include "proxy/control/server.hpp"
#include "proxy/net/io_backend.hpp"
#include "proxy/net/tls_context.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: canaryd -c FILE        run the proxy with that YAML config\n"
    "       canaryd -t -c FILE     check the config and exit (0 valid, 1 invalid)\n"
    "       canaryd --demo         run with built-in demo upstreams on loopback\n"
    "       canaryd --version      print the version\n";

int usage_error(std::string_view message) {
  std::cerr << "canaryd: " << message << "\n" << kUsage;
  return 2;
}

int run_server(canaryd::proxy::Server& server) {
  if (auto started = server.start(); !started) {
    std::cerr << "canaryd: " << started.error().message << "\n";
    return 1;
  }
  return server.run();
}

// False, having said why and what to do, when the kernel refuses this build's event backend.
bool io_backend_ready() {
  if (auto why = canaryd::proxy::io_backend_unavailable()) {
    std::cerr << "canaryd: " << *why << "\n";
    return false;
  }
  return true;
}

int run_demo(const char* argv0) {
  if (!io_backend_ready()) return 1;
  // The demo's state lives in a fresh directory so that every demo starts at weight 10.
  std::string dir_template = (std::filesystem::temp_directory_path() / "canaryd-demo-XXXXXX").string();
  if (!::mkdtemp(dir_template.data())) {
    std::perror("canaryd: cannot create a directory for the demo state");
    return 1;
  }
  int code;
  {
    // The demo upstreams run on the server's main io_context, so the config comes after them.
    canaryd::proxy::Server server(canaryd::config::Config{}, "");
    canaryd::proxy::DemoUpstreams demo(server.io());
    server.reset_config(demo.make_config(dir_template));
    // The hints come once the ports listen, so that each runs as printed; canaryctl is named by its path
    // beside this canaryd's file.
    if (auto started = server.start(); !started) {
      std::cerr << "canaryd: " << started.error().message << "\n";
      code = 1;
    } else {
      std::error_code ec;
      std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
      if (ec) exe = std::filesystem::absolute(argv0, ec);
      std::cout << canaryd::proxy::demo_hint_for(exe) << std::flush;
      code = server.run();
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_template, ec);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool test_only = false;
  bool demo = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--version" || arg == "-v") {
      std::cout << "canaryd " CANARYD_VERSION "\n";
      return 0;
    } else if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "-t" || arg == "--test") {
      test_only = true;
    } else if (arg == "--demo") {
      demo = true;
    } else if (arg == "-c" || arg == "--config") {
      if (i + 1 >= argc) return usage_error("-c needs a file");
      config_path = argv[++i];
    } else {
      return usage_error("unknown argument " + std::string(arg));
    }
  }
  if (demo) {
    if (!config_path.empty() || test_only) return usage_error("--demo takes no other option");
    return run_demo(argv[0]);
  }
  if (config_path.empty()) return usage_error("no config file: use -c FILE (or --demo)");

  auto loaded = canaryd::config::load_config_file(config_path);
  if (!loaded) {
    for (const auto& e : loaded.error()) std::cerr << e << "\n";
    return 1;
  }
  if (test_only) {
    // Like `nginx -t`, the check opens the files the config names (token, certificates and keys, the
    // kubeconfig, whose server must be https or http with insecure_http, the state directory): a config
    // whose files cannot be used would not start. The in-cluster account exists only in a pod, and is
    // checked at start.
    std::vector<std::string> errors = canaryd::config::check_named_files(*loaded);
    canaryd::proxy::load_tls(*loaded, errors);
    if (!errors.empty()) {
      for (const auto& e : errors) std::cerr << e << "\n";
      return 1;
    }
    std::cout << "canaryd: " << config_path << ": configuration is valid\n";
    return 0;
  }
  if (!io_backend_ready()) return 1;
  canaryd::proxy::Server server(std::move(*loaded), config_path);
  // Resolved now: SIGUSR2 starts the file at this path, which a package upgrade may have replaced by then.
  server.set_upgrade_command(canaryd::proxy::resolve_own_binary(argv[0]), std::vector<std::string>(argv + 1, argv + argc));
  return run_server(server);
}
