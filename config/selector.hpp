// Kubernetes label selectors (`version=v2`, `tier in (a,b)`, `!canary`): the requirements, matching against
// an endpoint's labels, and the checks the config makes with them (satisfiable, disjoint sets).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/labels.hpp"
#include "config/result.hpp"

namespace canaryd::config {

/// One requirement of a Kubernetes label selector.
struct Requirement {
  enum class Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist };
  std::string key;
  Op op = Op::Equals;
  std::vector<std::string> values;  ///< sorted, unique; one value for Equals/NotEquals, none for Exists/DoesNotExist

  bool operator==(const Requirement&) const = default;
};

/// A label selector: every requirement must hold. Immutable value; safe to share across threads.
class Selector {
 public:
  /// The selector that matches everything (no requirement).
  Selector() = default;

  /// Parses the Kubernetes string syntax (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`,
  /// comma-joined). On failure the error is a human-readable message.
  static Result<Selector> parse(std::string_view text);

  /// A selector from a label map: every key must equal its value.
  static Selector from_labels(const Labels& labels);

  /// Both selectors at once (the requirements of each), canonicalised.
  static Selector conjunction(const Selector& a, const Selector& b);

  /// True when every requirement holds for these labels.
  bool matches(const Labels& labels) const;

  /// True when no label set can match both selectors (some key has contradictory requirements).
  bool provably_disjoint(const Selector& other) const;

  /// True when some label set matches (false for contradictions such as `a=x,a=y`). Pure; any thread.
  bool satisfiable() const;

  /// Canonical string syntax, requirements sorted by key then operator: `name=nginx,version=v1`.
  std::string to_string() const;

  bool empty() const { return requirements_.empty(); }
  const std::vector<Requirement>& requirements() const { return requirements_; }
  bool operator==(const Selector&) const = default;

 private:
  explicit Selector(std::vector<Requirement> reqs);
  std::vector<Requirement> requirements_;  ///< canonical order
};

}  // namespace canaryd::config
