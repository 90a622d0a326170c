// Internal to the config loader: typed reading of YAML fields with error collection. Not part of the
// interface other layers use; everything here runs on the thread that loads the config.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/address.hpp"
#include "config/labels.hpp"
#include "config/selector.hpp"
#include "config/weight.hpp"

namespace canaryd::config::detail {

/// Collects every problem as `SOURCE: path: message` (or `SOURCE: message` when there is no path).
class Diagnostics {
 public:
  explicit Diagnostics(std::string source) : source_(std::move(source)) {}

  /// Records one problem; `path` is a field path such as `endpoints[1].address`, or empty.
  void add(std::string_view path, std::string_view message);

  bool empty() const { return errors_.empty(); }
  std::size_t count() const { return errors_.size(); }
  std::vector<std::string> take() { return std::move(errors_); }

 private:
  std::string source_;
  std::vector<std::string> errors_;
};

/// `parent.key`, or `key` at the top level.
std::string child_path(std::string_view parent, std::string_view key);

/// `parent[index]`.
std::string item_path(std::string_view parent, std::size_t index);

/// How a node reads in an error message: `10.125`, `the string "abc"`, `null`, `a list`, `a map`.
std::string describe_node(const YAML::Node& node);

/// True for a scalar written in quotes or tagged `!!str`: YAML says it is a string, never a number.
bool is_string_scalar(const YAML::Node& node);

using FieldVisitor = std::function<void(const std::string& key, const YAML::Node& value, const std::string& path)>;

/// Calls `visit` for each key of the map `node` (at `path`) in document order when the key is one of
/// `known`; reports unknown keys, duplicate keys, non-string keys and stray tags. `node` must be a map.
/// Returns the known keys present, also those whose value was refused, so that a caller does not
/// add "required" to an error already reported.
std::set<std::string> visit_map(const YAML::Node& node, std::string_view path,
                                std::initializer_list<std::string_view> known, Diagnostics& diags,
                                const FieldVisitor& visit);

/// A section that must be a map. A null section (`limits:` with every key commented out) counts as
/// empty. Reports a wrong type and returns false.
bool expect_section(const YAML::Node& node, std::string_view path, std::string_view what, Diagnostics& diags);

/// Any non-null scalar, as written.
std::optional<std::string> read_string(const YAML::Node& node, std::string_view path, Diagnostics& diags);

/// `true` or `false`, unquoted (YAML 1.2's core schema: no yes/no/on/off).
std::optional<bool> read_bool(const YAML::Node& node, std::string_view path, Diagnostics& diags);

/// A plain decimal integer in [min, max]: no sign, no quotes, no fraction, no exponent.
std::optional<std::uint64_t> read_integer(const YAML::Node& node, std::string_view path, std::uint64_t min,
                                          std::uint64_t max, Diagnostics& diags);

/// A duration such as `2s`; zero only when `allow_zero`.
std::optional<std::chrono::milliseconds> read_duration(const YAML::Node& node, std::string_view path, bool allow_zero,
                                                       Diagnostics& diags);

/// `host:port` / `[v6]:port`.
std::optional<HostPort> read_address(const YAML::Node& node, std::string_view path, bool allow_port_zero,
                                     Diagnostics& diags);

/// A canary weight, read from the scalar's text so that nothing is rounded.
std::optional<BasisPoints> read_weight(const YAML::Node& node, std::string_view path, Diagnostics& diags);

/// A map of label key to label value, both validated; null reads as no labels.
std::optional<Labels> read_labels(const YAML::Node& node, std::string_view path, Diagnostics& diags);

/// A selector: a label map (every label must equal) or a string in Kubernetes selector syntax.
std::optional<Selector> read_selector(const YAML::Node& node, std::string_view path, Diagnostics& diags);

}  // namespace canaryd::config::detail
