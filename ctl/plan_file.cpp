// YAML to JSON text for the rollout plan (see plan_file.hpp), written by hand so that numbers keep the
// digits the operator wrote.
#include "ctl/plan_file.hpp"

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>

namespace canaryd::ctl {
namespace {

bool is_quoted(const YAML::Node& node) { return node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str"; }

bool is_json_number(const std::string& text) {
  static const std::regex number(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
  return std::regex_match(text, number);
}

std::string json_string(std::string_view text) { return boost::json::serialize(boost::json::string(text)); }

std::string scalar_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (is_quoted(node)) return json_string(text);
  if (is_json_number(text)) return text;
  if (text == "true" || text == "True" || text == "TRUE") return "true";
  if (text == "false" || text == "False" || text == "FALSE") return "false";
  if (text == "null" || text == "Null" || text == "NULL" || text == "~" || text.empty()) return "null";
  return json_string(text);
}

std::string at(const std::string& path, std::string_view what) {
  return path.empty() ? std::string(what) : path + ": " + std::string(what);
}

std::string child(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

Result<void> write_json(const YAML::Node& node, const std::string& path, std::string& out) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out += "null";
      return {};
    case YAML::NodeType::Scalar:
      out += scalar_json(node);
      return {};
    case YAML::NodeType::Sequence: {
      out += '[';
      for (std::size_t i = 0; i < node.size(); ++i) {
        if (i > 0) out += ',';
        if (auto r = write_json(node[i], path + "[" + std::to_string(i) + "]", out); !r) return r;
      }
      out += ']';
      return {};
    }
    case YAML::NodeType::Map:
      break;
  }
  std::set<std::string> seen;
  out += '{';
  // Range-for keeps each pair alive: yaml-cpp's `it->first` is a member of a temporary.
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) return fail(at(path, "a key is not a plain name"));
    const std::string key = entry.first.Scalar();
    if (!seen.insert(key).second) return fail(at(path, "duplicate key \"" + key + "\""));
    if (seen.size() > 1) out += ',';
    out += json_string(key);
    out += ':';
    if (auto r = write_json(entry.second, child(path, key), out); !r) return r;
  }
  out += '}';
  return {};
}

}  // namespace

Result<std::string> plan_json_from_yaml(std::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return fail("not YAML: " + e.msg + " (line " + std::to_string(e.mark.line + 1) + ")");
  }
  if (root.IsNull() || !root.IsDefined()) return fail("the plan is empty");
  if (!root.IsMap()) return fail("the plan must be a map (steps, analysis), or have a top-level rollout: key");
  std::string path;
  const YAML::Node& document = root;  // const: looking a key up must not add it
  if (const YAML::Node plan = document["rollout"]; plan) {
    if (!plan.IsMap()) return fail("rollout: must be a map (steps, analysis)");
    root.reset(plan);
    path = "rollout";
  }
  std::string out;
  if (auto r = write_json(root, path, out); !r) return fail(std::move(r).error());
  return out;
}

Result<std::string> read_plan_file(const std::string& path) {
  std::ostringstream text;
  if (path == "-") {  // like kubectl -f -
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(path + ": cannot read the file");
    text << in.rdbuf();
    if (in.bad()) return fail(path + ": cannot read the file");
  }
  auto json = plan_json_from_yaml(text.str());
  if (!json) return fail((path == "-" ? std::string("stdin") : path) + ": " + json.error().message);
  return json;
}

}  // namespace canaryd::ctl
