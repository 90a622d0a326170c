// canaryctl's entry point: hands the arguments, the environment and a real HTTP client to ctl::run.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "ctl/app.hpp"
#include "ctl/http_client.hpp"
#include "ctl/pacer.hpp"

namespace {

std::optional<std::string> env_var(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  canaryd::ctl::Environment env{env_var("CANARYD_URL"), env_var("CANARYD_TOKEN")};
  canaryd::ctl::HttpClient client;
  // On a terminal the live views redraw in place; piped, they append frames.
  canaryd::ctl::RealPacer pacer(isatty(STDOUT_FILENO) == 1);
  return canaryd::ctl::run(args, env, client, std::cout, std::cerr, pacer);
}
