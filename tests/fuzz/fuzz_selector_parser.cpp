// Fuzzes the Kubernetes label-selector string parser (config/selector_parse.cpp) and the selector
// semantics it feeds (config/selector.cpp).
//
// The input is one selector text, or two separated by the first NUL byte. Invariants, for each text
// that parses:
// - a failed parse sets an error message;
// - the canonical form round-trips: to_string() parses to an equal selector and prints identically;
// - requirements are canonical (sorted, values sorted and unique, value counts fit the operator, keys
//   and values valid labels);
// - matches() agrees with a plain reading of the requirements on a few label maps built from the
//   selector itself; from_labels(L) matches L;
// - satisfiable() is true exactly when a witness label map exists (built here key by key, independently
//   of selector.cpp), and that witness matches;
// - provably_disjoint is symmetric and sound: two selectors that both match some map are not disjoint;
//   conjunction matches exactly when both match.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "config/labels.hpp"
#include "config/selector.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using canaryd::config::Labels;
using canaryd::config::Requirement;
using canaryd::config::Selector;
using Op = Requirement::Op;

// The reference reading of one requirement; `value` is nullptr when the key is absent.
bool holds(const Requirement& r, const std::string* value) {
  const bool listed = value != nullptr && std::find(r.values.begin(), r.values.end(), *value) != r.values.end();
  switch (r.op) {
    case Op::Equals:
    case Op::In:
      return listed;
    case Op::NotEquals:
    case Op::NotIn:
      return !listed;
    case Op::Exists:
      return value != nullptr;
    case Op::DoesNotExist:
      return value == nullptr;
  }
  return false;
}

bool reference_matches(const Selector& sel, const Labels& labels) {
  for (const auto& r : sel.requirements()) {
    const auto it = labels.find(r.key);
    if (!holds(r, it == labels.end() ? nullptr : &it->second)) return false;
  }
  return true;
}

// A valid label value mentioned by no requirement of `sel`.
std::string fresh_value(const Selector& sel) {
  std::set<std::string> used;
  for (const auto& r : sel.requirements()) used.insert(r.values.begin(), r.values.end());
  for (int i = 0;; ++i) {
    std::string v = "fresh" + std::to_string(i);
    if (!used.count(v)) return v;
  }
}

// Keys are independent, so a witness exists when, for every key, one of "absent", a value some
// requirement names, or a value none names satisfies all requirements on that key.
std::optional<Labels> witness(const Selector& sel) {
  const std::string fresh = fresh_value(sel);
  Labels out;
  std::set<std::string> keys;
  for (const auto& r : sel.requirements()) keys.insert(r.key);
  for (const auto& key : keys) {
    std::vector<const Requirement*> reqs;
    std::vector<std::string> candidates = {fresh};
    for (const auto& r : sel.requirements()) {
      if (r.key != key) continue;
      reqs.push_back(&r);
      candidates.insert(candidates.end(), r.values.begin(), r.values.end());
    }
    auto all_hold = [&](const std::string* v) {
      return std::all_of(reqs.begin(), reqs.end(), [&](const Requirement* r) { return holds(*r, v); });
    };
    if (all_hold(nullptr)) continue;  // leave the key out
    bool found = false;
    for (const auto& c : candidates) {
      if (all_hold(&c)) {
        out[key] = c;
        found = true;
        break;
      }
    }
    if (!found) return std::nullopt;
  }
  return out;
}

void check_canonical(const Selector& sel) {
  const auto& reqs = sel.requirements();
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    const Requirement& r = reqs[i];
    FUZZ_CHECK(canaryd::config::validate_label_key(r.key).ok(), "invalid key accepted: " + r.key);
    for (const auto& v : r.values) {
      FUZZ_CHECK(canaryd::config::validate_label_value(v).ok(), "invalid value accepted: " + v);
    }
    FUZZ_CHECK(std::is_sorted(r.values.begin(), r.values.end()), "values not sorted");
    FUZZ_CHECK(std::adjacent_find(r.values.begin(), r.values.end()) == r.values.end(), "values not unique");
    switch (r.op) {
      case Op::Equals:
      case Op::NotEquals:
        FUZZ_CHECK(r.values.size() == 1, "=/!= without exactly one value");
        break;
      case Op::In:
      case Op::NotIn:
        FUZZ_CHECK(!r.values.empty(), "in/notin without values");
        break;
      case Op::Exists:
      case Op::DoesNotExist:
        FUZZ_CHECK(r.values.empty(), "exists/!exists with values");
        break;
    }
    if (i > 0) {
      const Requirement& p = reqs[i - 1];
      FUZZ_CHECK(std::tie(p.key, p.op, p.values) < std::tie(r.key, r.op, r.values),
                 "requirements not sorted and unique");
    }
  }
}

void check_round_trip(const Selector& sel) {
  const std::string text = sel.to_string();
  const auto back = Selector::parse(text);
  FUZZ_CHECK(back.ok(), "canonical form \"" + text + "\" does not parse: " + back.error().message);
  FUZZ_CHECK(*back == sel, "canonical form \"" + text + "\" parses to another selector");
  FUZZ_CHECK(back->to_string() == text, "canonical form is not stable");
  FUZZ_CHECK(sel.empty() == text.empty(), "empty selector prints non-empty, or the reverse");
}

// A few label maps that touch the selector's keys and values.
std::vector<Labels> probe_maps(const Selector& sel) {
  const std::string fresh = fresh_value(sel);
  std::vector<Labels> maps(5);
  for (const auto& r : sel.requirements()) {
    maps[1][r.key] = r.values.empty() ? fresh : r.values.front();
    maps[2][r.key] = r.values.empty() ? fresh : r.values.back();
    maps[3][r.key] = fresh;
    if (&r != &sel.requirements().front()) maps[4][r.key] = r.values.empty() ? "" : r.values.front();
  }
  maps[4]["zz-unrelated"] = "x";
  return maps;
}

void check_semantics(const Selector& sel) {
  check_canonical(sel);
  check_round_trip(sel);

  const auto w = witness(sel);
  FUZZ_CHECK(sel.satisfiable() == w.has_value(),
             sel.satisfiable() ? "satisfiable() but no witness: " + sel.to_string()
                               : "not satisfiable() but a witness exists: " + sel.to_string());
  if (w) {
    FUZZ_CHECK(sel.matches(*w), "the witness does not match: " + sel.to_string());
    FUZZ_CHECK(Selector::from_labels(*w).matches(*w), "from_labels(L) does not match L");
  }
  for (const auto& labels : probe_maps(sel)) {
    FUZZ_CHECK(sel.matches(labels) == reference_matches(sel, labels), "matches() differs from the reference");
    if (sel.matches(labels)) FUZZ_CHECK(sel.satisfiable(), "matches something but not satisfiable()");
  }
  FUZZ_CHECK(Selector::conjunction(sel, sel) == sel, "conjunction with itself changes a selector");
  FUZZ_CHECK(Selector::conjunction(sel, Selector()) == sel, "conjunction with the empty selector changes it");
  FUZZ_CHECK(sel.provably_disjoint(sel) == !sel.satisfiable(), "self-disjointness differs from unsatisfiable");
}

void check_pair(const Selector& a, const Selector& b) {
  const Selector both = Selector::conjunction(a, b);
  FUZZ_CHECK(both == Selector::conjunction(b, a), "conjunction is not commutative");
  FUZZ_CHECK(a.provably_disjoint(b) == b.provably_disjoint(a), "provably_disjoint is not symmetric");
  FUZZ_CHECK(a.provably_disjoint(b) == !both.satisfiable(), "disjoint differs from an unsatisfiable conjunction");
  check_semantics(both);
  std::vector<Labels> maps = probe_maps(a);
  for (auto& m : probe_maps(b)) maps.push_back(std::move(m));
  if (auto w = witness(both)) maps.push_back(std::move(*w));
  for (const auto& labels : maps) {
    const bool ma = a.matches(labels);
    const bool mb = b.matches(labels);
    FUZZ_CHECK(both.matches(labels) == (ma && mb), "conjunction does not match exactly when both do");
    if (ma && mb) FUZZ_CHECK(!a.provably_disjoint(b), "provably disjoint, yet both match one label map");
  }
}

std::optional<Selector> parse(std::string_view text) {
  auto sel = Selector::parse(text);
  if (!sel) {
    FUZZ_CHECK(!sel.error().message.empty(), "a failed parse without an error message");
    return std::nullopt;
  }
  return std::move(sel).value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const auto a = parse(input.substr(0, nul));
  if (a) check_semantics(*a);
  if (nul == std::string_view::npos) return 0;
  const auto b = parse(input.substr(nul + 1));
  if (b) check_semantics(*b);
  if (a && b) check_pair(*a, *b);
  return 0;
}
