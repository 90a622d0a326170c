// Fuzzes config loading (config/config_loader.cpp + yaml-cpp) with arbitrary YAML text.
//
// Invariants: load_config_text never crashes or throws; it returns either a config and no error, or no
// config and at least one error, each naming the source first (`SOURCE: field.path: message`). A config
// it returns satisfies what the rest of the program relies on: weight at most 10000 basis points and 0
// without a canary, stable and canary sets satisfiable and provably disjoint (config::Selector), every
// selector printable and parsable back to itself (the state file stores them as strings), listeners
// present, endpoint ports non-zero, endpoint labels valid, and every number within its documented range.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "config/config.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace canaryd::config;

constexpr const char* kSource = "fuzz.yaml";

void check_round_trip(const Selector& sel, const char* what) {
  const std::string text = sel.to_string();
  const auto back = Selector::parse(text);
  FUZZ_CHECK(back.ok(), std::string(what) + ": \"" + text + "\" does not parse back: " + back.error().message);
  FUZZ_CHECK(*back == sel, std::string(what) + ": \"" + text + "\" parses back to another selector");
}

void check_config(const Config& c) {
  FUZZ_CHECK(c.source == kSource, "source not recorded");
  FUZZ_CHECK(!c.listen.empty(), "a config without listeners");
  FUZZ_CHECK(c.threads <= 256, "threads out of range");
  FUZZ_CHECK(c.history_limit >= 1 && c.history_limit <= 1000, "history_limit out of range");
  FUZZ_CHECK(!c.state_file.empty(), "empty state_file");
  FUZZ_CHECK(c.routing.retries <= 10, "retries out of range");
  FUZZ_CHECK(c.limits.max_header_bytes >= 1024 && c.limits.max_header_bytes <= 1024 * 1024,
             "max_header_bytes out of range");
  FUZZ_CHECK(c.timeouts.connect.count() > 0 && c.timeouts.upstream.count() > 0 &&
                 c.timeouts.client_header.count() > 0 && c.timeouts.keepalive_idle.count() > 0 &&
                 c.timeouts.drain.count() >= 0,
             "a timeout that is zero or negative");
  if (c.health) {
    FUZZ_CHECK(c.health->interval.count() > 0 && c.health->timeout.count() > 0, "health timing not positive");
    FUZZ_CHECK(c.health->healthy_threshold >= 1 && c.health->healthy_threshold <= 100, "healthy_threshold range");
    FUZZ_CHECK(c.health->unhealthy_threshold >= 1 && c.health->unhealthy_threshold <= 100,
               "unhealthy_threshold range");
    FUZZ_CHECK(!c.health->path.empty() && c.health->path.front() == '/', "health path not absolute");
  }
  for (const auto& ep : c.endpoints) {
    FUZZ_CHECK(ep.address.port != 0, "an endpoint on port 0");
    for (const auto& [key, value] : ep.labels) {
      FUZZ_CHECK(validate_label_key(key).ok(), "endpoint label key invalid: " + key);
      FUZZ_CHECK(validate_label_value(value).ok(), "endpoint label value invalid: " + value);
    }
  }

  const Service& s = c.service;
  FUZZ_CHECK(s.canary_weight <= kMaxBasisPoints, "canary_weight above 10000 basis points");
  if (!s.canary) FUZZ_CHECK(s.canary_weight == 0, "a canary weight without a canary set");

  check_round_trip(s.selector, "service.selector");
  check_round_trip(s.stable, "service.stable");
  const Selector stable_set = c.stable_selector();
  FUZZ_CHECK(stable_set == Selector::conjunction(s.selector, s.stable), "stable_selector() is not selector AND stable");
  FUZZ_CHECK(stable_set.satisfiable(), "stable set can never match: " + stable_set.to_string());
  check_round_trip(stable_set, "stable set");
  if (s.canary) {
    check_round_trip(*s.canary, "service.canary");
    const Selector canary_set = Selector::conjunction(s.selector, *s.canary);
    FUZZ_CHECK(canary_set.satisfiable(), "canary set can never match: " + canary_set.to_string());
    FUZZ_CHECK(stable_set.provably_disjoint(canary_set),
               "stable and canary overlap: " + stable_set.to_string() + " / " + canary_set.to_string());
    FUZZ_CHECK(canary_set.provably_disjoint(stable_set), "provably_disjoint is not symmetric");
    check_round_trip(canary_set, "canary set");
    // No endpoint may be in both sets.
    for (const auto& ep : c.endpoints) {
      FUZZ_CHECK(!(stable_set.matches(ep.labels) && canary_set.matches(ep.labels)), "an endpoint in both sets");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::optional<LoadResult> loaded;
  try {
    loaded.emplace(load_config_text(text, kSource));
  } catch (const std::exception& e) {
    FUZZ_CHECK(false, std::string("load_config_text threw: ") + e.what());
  } catch (...) {
    FUZZ_CHECK(false, "load_config_text threw a non-std exception");
  }
  // A config and errors together cannot be returned: Result holds one or the other.
  const LoadResult& result = *loaded;
  if (!result) {
    FUZZ_CHECK(!result.error().empty(), "no config and no error");
  } else {
    check_config(*result);
  }
  for (const auto& e : result ? ConfigErrors{} : result.error()) {
    FUZZ_CHECK(e.rfind(std::string(kSource) + ": ", 0) == 0, "an error that does not start with the source: " + e);
  }
  return 0;
}
