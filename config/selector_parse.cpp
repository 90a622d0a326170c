// Selector::parse: the Kubernetes label-selector string syntax, by recursive descent, with an error message
// that says what was expected and what came instead.
#include <algorithm>
#include <utility>

#include "config/selector.hpp"

// The Kubernetes label-selector string syntax. Kept apart from selector.cpp (semantics: canonical form,
// matching, disjointness), which does not depend on how a selector was written.

namespace canaryd::config {
namespace {

using Op = Requirement::Op;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// The characters that end an identifier, as in the Kubernetes selector lexer.
bool is_special(char c) { return c == '=' || c == '!' || c == '(' || c == ')' || c == ','; }

const char* op_name(Op op) {
  switch (op) {
    case Op::In:
      return "in";
    case Op::NotIn:
      return "notin";
    default:
      return "";
  }
}

// Recursive-descent parser over the selector text. Every method either advances or records an error;
// the first error stops parsing (later messages would only describe its consequences).
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<std::vector<Requirement>> parse_all() {
    std::vector<Requirement> reqs;
    skip_space();
    if (at_end()) return reqs;  // like Kubernetes: an empty selector selects everything
    while (true) {
      auto req = parse_requirement();
      if (!req) break;
      reqs.push_back(std::move(*req));
      skip_space();
      if (at_end()) return reqs;
      if (peek() != ',') {
        fail("expected ',' or the end of the selector after \"" + last_term() + "\", got " + describe_next());
        break;
      }
      ++pos_;
      skip_space();
      if (at_end()) {
        fail("empty selector term (trailing ',')");
        break;
      }
    }
    return canaryd::fail(error_);
  }

 private:
  std::optional<Requirement> parse_requirement() {
    skip_space();
    term_start_ = pos_;
    if (!at_end() && peek() == ',') return fail("empty selector term");
    Requirement req;
    if (!at_end() && peek() == '!') {
      ++pos_;
      skip_space();
      req.key = read_identifier();
      if (req.key.empty()) return fail("expected a label key after '!', got " + describe_next());
      if (!check_key(req.key)) return std::nullopt;
      req.op = Op::DoesNotExist;
      skip_space();
      if (!at_end() && peek() != ',') {
        return fail("'!" + req.key + "' takes no operator or value, got " + describe_next());
      }
      return req;
    }
    req.key = read_identifier();
    if (req.key.empty()) return fail("expected a label key, got " + describe_next());
    if (!check_key(req.key)) return std::nullopt;
    skip_space();
    if (at_end() || peek() == ',') {
      req.op = Op::Exists;
      return req;
    }
    if (peek() == '=' || peek() == '!') {
      std::string op_text;
      if (peek() == '!') {
        if (pos_ + 1 >= text_.size() || text_[pos_ + 1] != '=') {
          return fail("expected '!=' after key \"" + req.key + "\", got " + describe_next());
        }
        req.op = Op::NotEquals;
        op_text = "!=";
      } else {
        req.op = Op::Equals;
        op_text = (pos_ + 1 < text_.size() && text_[pos_ + 1] == '=') ? "==" : "=";
      }
      pos_ += op_text.size();
      skip_space();
      // An empty value is allowed (Kubernetes `a=` matches label a with the value ""), but a special
      // character other than ',' right after the operator is a typo such as `a===b` or `a=(b)`.
      if (!at_end() && is_special(peek()) && peek() != ',') {
        return fail("expected a value after '" + op_text + "', got " + describe_next());
      }
      std::string value = read_identifier();
      if (!check_value(value)) return std::nullopt;
      req.values.push_back(std::move(value));
      return req;
    }
    if (is_special(peek())) {
      return fail("expected an operator (=, ==, !=, in, notin) after key \"" + req.key + "\", got " + describe_next());
    }
    const std::size_t word_start = pos_;
    const std::string word = read_identifier();
    if (word == "in") {
      req.op = Op::In;
    } else if (word == "notin") {
      req.op = Op::NotIn;
    } else {
      pos_ = word_start;
      return fail("expected an operator (=, ==, !=, in, notin) after key \"" + req.key + "\", got " + describe_next());
    }
    if (!parse_value_set(req)) return std::nullopt;
    return req;
  }

  // `(a, b, c)` after in/notin.
  bool parse_value_set(Requirement& req) {
    const std::string op = op_name(req.op);
    skip_space();
    if (at_end() || peek() != '(') {
      fail("expected '(' after '" + op + "', got " + describe_next());
      return false;
    }
    ++pos_;
    skip_space();
    if (!at_end() && peek() == ')') {
      fail("empty value list after '" + op + "'; give at least one value");
      return false;
    }
    while (true) {
      skip_space();
      if (at_end()) {
        fail("missing ')' to close the '" + op + "' list");
        return false;
      }
      std::string value = read_identifier();
      if (value.empty()) {
        fail("expected a value in the '" + op + "' list, got " + describe_next());
        return false;
      }
      if (!check_value(value)) return false;
      req.values.push_back(std::move(value));
      skip_space();
      if (at_end()) {
        fail("missing ')' to close the '" + op + "' list");
        return false;
      }
      if (peek() == ')') {
        ++pos_;
        break;
      }
      if (peek() != ',') {
        fail("expected ',' or ')' in the '" + op + "' list, got " + describe_next());
        return false;
      }
      ++pos_;
    }
    std::sort(req.values.begin(), req.values.end());
    req.values.erase(std::unique(req.values.begin(), req.values.end()), req.values.end());
    return true;
  }

  bool check_key(const std::string& key) { return check(validate_label_key(key)); }
  bool check_value(const std::string& value) { return check(validate_label_value(value)); }
  bool check(Result<void> valid) {
    if (!valid) fail(std::move(valid).error().message);
    return valid.ok();
  }

  std::string read_identifier() {
    const std::size_t start = pos_;
    while (!at_end() && !is_space(peek()) && !is_special(peek())) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  std::string describe_next() const {
    if (at_end()) return "the end of the selector";
    if (is_special(peek())) return std::string("'") + peek() + "'";
    std::size_t end = pos_;
    while (end < text_.size() && !is_space(text_[end]) && !is_special(text_[end])) ++end;
    return "\"" + std::string(text_.substr(pos_, end - pos_)) + "\"";
  }

  std::string last_term() const {
    std::string_view term = text_.substr(term_start_, pos_ - term_start_);
    while (!term.empty() && is_space(term.back())) term.remove_suffix(1);
    return std::string(term);
  }

  std::nullopt_t fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return std::nullopt;
  }

  void skip_space() {
    while (!at_end() && is_space(peek())) ++pos_;
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t term_start_ = 0;
  std::string error_;
};

}  // namespace

Result<Selector> Selector::parse(std::string_view text) {
  Parser parser(text);
  auto reqs = parser.parse_all();
  if (!reqs) return fail(std::move(reqs).error());
  return Selector(std::move(*reqs));
}

}  // namespace canaryd::config
