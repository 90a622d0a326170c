// Typed reading of YAML fields for the config loader (see yaml_fields.hpp): paths, node descriptions,
// unknown and duplicate keys, stray tags.
#include "config/yaml_fields.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>

#include "config/duration.hpp"

namespace canaryd::config::detail {
namespace {

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// `stable: !version` is a YAML tag on an empty value, not the selector "!version"; accepting it would
// silently select every endpoint. Only the standard tags (and none) are meaningful in a config.
bool check_tag(const YAML::Node& node, std::string_view path, Diagnostics& diags) {
  const std::string& tag = node.Tag();
  if (tag.empty() || tag == "?" || tag == "!" || tag.rfind("tag:yaml.org,2002:", 0) == 0) return true;
  std::string written = tag;
  if (node.IsScalar() && !node.Scalar().empty()) written += " " + node.Scalar();
  diags.add(path, "YAML reads " + quoted(tag) + " as a tag, not as text; quote the value: " + quoted(written));
  return false;
}

}  // namespace

void Diagnostics::add(std::string_view path, std::string_view message) {
  std::string line = source_;
  line += ": ";
  if (!path.empty()) {
    line.append(path);
    line += ": ";
  }
  line.append(message);
  errors_.push_back(std::move(line));
}

std::string child_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string out(parent);
  out += '.';
  out.append(key);
  return out;
}

std::string item_path(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

bool is_string_scalar(const YAML::Node& node) {
  // yaml-cpp tags plain scalars "?" and quoted ones "!".
  return node.IsScalar() && (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str");
}

std::string describe_node(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar:
      return is_string_scalar(node) ? "the string " + quoted(node.Scalar()) : node.Scalar();
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::set<std::string> visit_map(const YAML::Node& node, std::string_view path,
                                std::initializer_list<std::string_view> known, Diagnostics& diags,
                                const FieldVisitor& visit) {
  std::set<std::string> seen;
  // Range-for keeps each pair alive: yaml-cpp's `it->first` is a member of a temporary.
  for (const auto& entry : node) {
    const YAML::Node& key_node = entry.first;
    if (!key_node.IsScalar()) {
      diags.add(path, "keys must be strings, got " + describe_node(key_node));
      continue;
    }
    const std::string key = key_node.Scalar();
    const std::string field = child_path(path, key);
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      diags.add(field, "unknown key");
      continue;
    }
    // yaml-cpp keeps both entries of a repeated key; which one wins would be a guess, so refuse it.
    if (!seen.insert(key).second) {
      diags.add(field, "duplicate key");
      continue;
    }
    if (!check_tag(entry.second, field, diags)) continue;
    visit(key, entry.second, field);
  }
  return seen;
}

bool expect_section(const YAML::Node& node, std::string_view path, std::string_view what, Diagnostics& diags) {
  if (node.IsMap() || node.IsNull()) return true;
  diags.add(path, "must be " + std::string(what) + ", got " + describe_node(node));
  return false;
}

std::optional<std::string> read_string(const YAML::Node& node, std::string_view path, Diagnostics& diags) {
  if (node.IsScalar()) return node.Scalar();
  diags.add(path, "must be a string, got " + describe_node(node));
  return std::nullopt;
}

std::optional<bool> read_bool(const YAML::Node& node, std::string_view path, Diagnostics& diags) {
  if (node.IsScalar() && !is_string_scalar(node)) {
    if (node.Scalar() == "true") return true;
    if (node.Scalar() == "false") return false;
  }
  diags.add(path, "must be true or false, got " + describe_node(node));
  return std::nullopt;
}

std::optional<std::uint64_t> read_integer(const YAML::Node& node, std::string_view path, std::uint64_t min,
                                          std::uint64_t max, Diagnostics& diags) {
  const std::string rule = max == std::numeric_limits<std::uint64_t>::max()
                               ? "must be an integer >= " + std::to_string(min)
                               : "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!node.IsScalar() || is_string_scalar(node) || !all_digits(node.Scalar())) {
    diags.add(path, rule + ", got " + describe_node(node));
    return std::nullopt;
  }
  const std::string& text = node.Scalar();
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    diags.add(path, rule + ", got " + text);
    return std::nullopt;
  }
  return value;
}

std::optional<std::chrono::milliseconds> read_duration(const YAML::Node& node, std::string_view path, bool allow_zero,
                                                       Diagnostics& diags) {
  if (!node.IsScalar()) {
    diags.add(path, "must be a duration such as 250ms, 2s or 1m, got " + describe_node(node));
    return std::nullopt;
  }
  const auto d = parse_duration(node.Scalar());
  if (!d) {
    diags.add(path, "invalid duration " + quoted(node.Scalar()) + " (use e.g. 250ms, 2s, 1m)");
    return std::nullopt;
  }
  if (!allow_zero && d->count() == 0) {
    diags.add(path, "must be greater than 0, got " + node.Scalar());
    return std::nullopt;
  }
  return d;
}

std::optional<HostPort> read_address(const YAML::Node& node, std::string_view path, bool allow_port_zero,
                                     Diagnostics& diags) {
  if (!node.IsScalar()) {
    diags.add(path, "must be an address host:port, got " + describe_node(node));
    return std::nullopt;
  }
  auto hp = parse_host_port(node.Scalar(), allow_port_zero);
  if (!hp) {
    diags.add(path, hp.error().message);
    return std::nullopt;
  }
  return *hp;
}

std::optional<BasisPoints> read_weight(const YAML::Node& node, std::string_view path, Diagnostics& diags) {
  if (!node.IsScalar() || is_string_scalar(node)) {
    diags.add(path, "must be a number from 0 to 100 with at most two decimals, got " + describe_node(node));
    return std::nullopt;
  }
  auto bp = parse_weight_text(node.Scalar());
  if (!bp) {
    diags.add(path, bp.error().message);
    return std::nullopt;
  }
  return *bp;
}

std::optional<Labels> read_labels(const YAML::Node& node, std::string_view path, Diagnostics& diags) {
  if (node.IsNull()) return Labels{};
  if (!node.IsMap()) {
    diags.add(path, "must be a map of label: value, got " + describe_node(node));
    return std::nullopt;
  }
  Labels labels;
  bool ok = true;
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) {
      diags.add(path, "label keys must be strings, got " + describe_node(entry.first));
      ok = false;
      continue;
    }
    const std::string key = entry.first.Scalar();
    if (auto valid = validate_label_key(key); !valid) {
      diags.add(path, valid.error().message);
      ok = false;
      continue;
    }
    const std::string field = child_path(path, key);
    if (!check_tag(entry.second, field, diags)) {
      ok = false;
      continue;
    }
    // Label values are strings; null would silently become "" otherwise.
    if (!entry.second.IsScalar()) {
      diags.add(field, "must be a label value (a string; use \"\" for empty), got " + describe_node(entry.second));
      ok = false;
      continue;
    }
    const std::string value = entry.second.Scalar();
    if (auto valid = validate_label_value(value); !valid) {
      diags.add(field, valid.error().message);
      ok = false;
      continue;
    }
    if (!labels.emplace(key, value).second) {
      diags.add(field, "duplicate label key");
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return labels;
}

std::optional<Selector> read_selector(const YAML::Node& node, std::string_view path, Diagnostics& diags) {
  if (node.IsMap()) {
    auto labels = read_labels(node, path, diags);
    if (!labels) return std::nullopt;
    return Selector::from_labels(*labels);
  }
  if (node.IsScalar()) {
    auto selector = Selector::parse(node.Scalar());
    if (!selector) {
      diags.add(path, "invalid selector " + quoted(node.Scalar()) + ": " + selector.error().message);
      return std::nullopt;
    }
    return std::move(selector).value();
  }
  diags.add(path, "must be a label map such as {version: v1} or a selector string such as \"version=v1\", got " +
                      describe_node(node));
  return std::nullopt;
}

}  // namespace canaryd::config::detail
