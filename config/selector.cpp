// What a label selector means (see selector.hpp): canonical form, matching, conjunction, satisfiability and
// disjointness. Its string syntax is parsed in selector_parse.cpp.
#include "config/selector.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <utility>

namespace canaryd::config {
namespace {

using Op = Requirement::Op;

bool requirement_less(const Requirement& a, const Requirement& b) {
  return std::tie(a.key, a.op, a.values) < std::tie(b.key, b.op, b.values);
}

// The values one key may take under some requirements: "absent" or a set of strings, where the set is
// either finite (`values`) or everything except `values` (cofinite). Label values form an unbounded
// set for this purpose, so a cofinite set is never empty.
struct Allowed {
  bool absent = true;
  bool cofinite = true;
  std::set<std::string> values;  // the members when finite, the exclusions when cofinite

  static Allowed of(const Requirement& r) {
    Allowed a;
    const std::set<std::string> vs(r.values.begin(), r.values.end());
    switch (r.op) {
      case Op::Equals:
      case Op::In:
        a = {false, false, vs};
        break;
      case Op::NotEquals:
      case Op::NotIn:
        a = {true, true, vs};
        break;
      case Op::Exists:
        a = {false, true, {}};
        break;
      case Op::DoesNotExist:
        a = {true, false, {}};
        break;
    }
    return a;
  }

  void intersect(const Allowed& o) {
    absent = absent && o.absent;
    std::set<std::string> out;
    if (!cofinite && !o.cofinite) {
      std::set_intersection(values.begin(), values.end(), o.values.begin(), o.values.end(),
                            std::inserter(out, out.end()));
    } else if (!cofinite) {
      std::set_difference(values.begin(), values.end(), o.values.begin(), o.values.end(),
                          std::inserter(out, out.end()));
    } else if (!o.cofinite) {
      std::set_difference(o.values.begin(), o.values.end(), values.begin(), values.end(),
                          std::inserter(out, out.end()));
      cofinite = false;
    } else {
      std::set_union(values.begin(), values.end(), o.values.begin(), o.values.end(), std::inserter(out, out.end()));
    }
    values = std::move(out);
  }

  bool empty() const { return !absent && !cofinite && values.empty(); }
};

// Per key, the intersection of what every requirement on it allows. Keys without a requirement allow
// anything and are left out.
std::map<std::string, Allowed> allowed_per_key(const std::vector<Requirement>& reqs) {
  std::map<std::string, Allowed> out;
  for (const auto& r : reqs) {
    auto [it, inserted] = out.try_emplace(r.key);
    it->second.intersect(Allowed::of(r));
  }
  return out;
}

}  // namespace

Selector::Selector(std::vector<Requirement> reqs) : requirements_(std::move(reqs)) {
  for (auto& r : requirements_) {
    std::sort(r.values.begin(), r.values.end());
    r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
  }
  std::sort(requirements_.begin(), requirements_.end(), requirement_less);
  requirements_.erase(std::unique(requirements_.begin(), requirements_.end()), requirements_.end());
}

Selector Selector::from_labels(const Labels& labels) {
  std::vector<Requirement> reqs;
  reqs.reserve(labels.size());
  for (const auto& [key, value] : labels) reqs.push_back(Requirement{key, Op::Equals, {value}});
  return Selector(std::move(reqs));
}

Selector Selector::conjunction(const Selector& a, const Selector& b) {
  std::vector<Requirement> reqs = a.requirements_;
  reqs.insert(reqs.end(), b.requirements_.begin(), b.requirements_.end());
  return Selector(std::move(reqs));
}

bool Selector::matches(const Labels& labels) const {
  for (const auto& r : requirements_) {
    const auto it = labels.find(r.key);
    const bool present = it != labels.end();
    const bool listed = present && std::binary_search(r.values.begin(), r.values.end(), it->second);
    bool ok = false;
    switch (r.op) {
      case Op::Equals:
      case Op::In:
        ok = listed;
        break;
      // Kubernetes semantics: a missing key satisfies != and notin.
      case Op::NotEquals:
      case Op::NotIn:
        ok = !listed;
        break;
      case Op::Exists:
        ok = present;
        break;
      case Op::DoesNotExist:
        ok = !present;
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Selector::provably_disjoint(const Selector& other) const {
  // Keys are independent, so the label sets both selectors match are the product over keys of the
  // per-key intersections: empty exactly when one key's intersection is empty.
  auto mine = allowed_per_key(requirements_);
  for (const auto& [key, allowed] : allowed_per_key(other.requirements_)) {
    auto [it, inserted] = mine.try_emplace(key, allowed);
    if (!inserted) it->second.intersect(allowed);
  }
  return std::any_of(mine.begin(), mine.end(), [](const auto& kv) { return kv.second.empty(); });
}

bool Selector::satisfiable() const { return !provably_disjoint(Selector()); }

std::string Selector::to_string() const {
  std::string out;
  for (const auto& r : requirements_) {
    if (!out.empty()) out += ',';
    switch (r.op) {
      case Op::Equals:
        out += r.key + "=" + (r.values.empty() ? "" : r.values.front());
        break;
      case Op::NotEquals:
        out += r.key + "!=" + (r.values.empty() ? "" : r.values.front());
        break;
      case Op::In:
      case Op::NotIn: {
        out += r.key + (r.op == Op::In ? " in (" : " notin (");
        for (std::size_t i = 0; i < r.values.size(); ++i) {
          if (i) out += ',';
          out += r.values[i];
        }
        out += ')';
        break;
      }
      case Op::Exists:
        out += r.key;
        break;
      case Op::DoesNotExist:
        out += "!" + r.key;
        break;
    }
  }
  return out;
}

}  // namespace canaryd::config
