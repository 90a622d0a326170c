// Strict JSON parsing (duplicate keys refused, number texts kept) and the terminal-safe JSON writer (see
// json_text.hpp).
#include "weights/json_text.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <unordered_set>

#include "weights/utf8.hpp"

namespace canaryd::weights {

namespace {

namespace json = boost::json;

/// A pointer segment: "~" and "/" escaped as RFC 6901 says.
void append_pointer_segment(std::string& out, std::string_view key) {
  out.push_back('/');
  for (const char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
}

/// Builds the value as Boost.JSON's own parser does (a value_stack), and beside it refuses duplicate
/// keys and records the text of each number with its pointer.
class StrictHandler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  explicit StrictHandler(NumberTexts* numbers) : numbers_(numbers) {}

  json::value release() { return stack_.release(); }
  /// Why the handler stopped the parse, "" when it did not.
  const std::string& refusal() const { return refusal_; }

  bool on_document_begin(json::error_code&) {
    stack_.reset();
    return true;
  }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    frames_.push_back(Frame{true, {}, 0, {}});
    return true;
  }
  bool on_object_end(std::size_t n, json::error_code&) {
    frames_.pop_back();
    stack_.push_object(n);
    value_done();
    return true;
  }
  bool on_array_begin(json::error_code&) {
    frames_.push_back(Frame{false, {}, 0, {}});
    return true;
  }
  bool on_array_end(std::size_t n, json::error_code&) {
    frames_.pop_back();
    stack_.push_array(n);
    value_done();
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    stack_.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key_.append(s.data(), s.size());
    Frame& object = frames_.back();
    if (!object.keys.insert(key_).second) {
      refusal_ = "duplicate key " + to_json_text(json::string(key_));
      const std::string parent = pointer(frames_.size() - 1);
      if (!parent.empty()) refusal_ += " in " + parent;
      ec = json::error::syntax;
      return false;
    }
    object.key = std::move(key_);
    key_.clear();
    stack_.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    stack_.push_string(s);
    value_done();
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view s, json::error_code&) {
    number_done(s);
    stack_.push_int64(i);
    value_done();
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view s, json::error_code&) {
    number_done(s);
    stack_.push_uint64(u);
    value_done();
    return true;
  }
  bool on_double(double d, json::string_view s, json::error_code&) {
    number_done(s);
    stack_.push_double(d);
    value_done();
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    stack_.push_bool(b);
    value_done();
    return true;
  }
  bool on_null(json::error_code&) {
    stack_.push_null();
    value_done();
    return true;
  }
  // Comments are off in the default parse_options; these are never called.
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  struct Frame {
    bool is_object;
    std::string key;      ///< object: the key of the member being parsed
    std::size_t index;    ///< array: the index of the element being parsed
    std::unordered_set<std::string> keys;
  };

  /// The pointer of the value being parsed, built from the first `depth` frames.
  std::string pointer(std::size_t depth) const {
    std::string out;
    for (std::size_t i = 0; i < depth; ++i) {
      if (frames_[i].is_object) {
        append_pointer_segment(out, frames_[i].key);
      } else {
        out += '/' + std::to_string(frames_[i].index);
      }
    }
    return out;
  }

  void number_done(json::string_view last_part) {
    number_.append(last_part.data(), last_part.size());
    if (numbers_ != nullptr) numbers_->add(pointer(frames_.size()), std::move(number_));
    number_.clear();
  }

  void value_done() {
    if (!frames_.empty() && !frames_.back().is_object) ++frames_.back().index;
  }

  json::value_stack stack_;
  std::vector<Frame> frames_;
  std::string key_;     ///< the key being read (keys may arrive in parts)
  std::string number_;  ///< the number being read
  NumberTexts* numbers_;
  std::string refusal_;
};

}  // namespace

const std::string* NumberTexts::find(std::string_view pointer) const {
  for (const auto& [p, text] : texts_) {
    if (p == pointer) return &text;
  }
  return nullptr;
}

Result<boost::json::value> parse_json(std::string_view text, NumberTexts* numbers) {
  // The whole text in one call (more = false): the parser stops where the document went wrong, which
  // makes "torn at offset N" messages possible for a half-written state file or a truncated body.
  json::basic_parser<StrictHandler> parser(json::parse_options{}, numbers);
  json::error_code ec;
  const std::size_t consumed = parser.write_some(false, text.data(), text.size(), ec);
  if (!parser.handler().refusal().empty()) return fail(parser.handler().refusal());
  if (!ec && consumed < text.size()) ec = json::error::extra_data;
  if (ec || !parser.done()) {
    return fail("invalid JSON at offset " + std::to_string(consumed) + ": " +
                (ec && ec != json::error::incomplete ? ec.message() : "incomplete JSON"));
  }
  return parser.handler().release();
}

namespace {

void append_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      default: break;
    }
    const Utf8Sequence seq = decode_utf8(s, i);
    if (seq.length == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
      continue;
    }
    // JSON requires only C0 escaped; DEL and C1 too, so that the text is safe to print on a terminal.
    if (is_control_character(seq.code_point)) {
      out += "\\u00";
      out.push_back(kHex[(seq.code_point >> 4) & 0xF]);
      out.push_back(kHex[seq.code_point & 0xF]);
      i += seq.length;
      continue;
    }
    out.append(s.substr(i, seq.length));
    i += seq.length;
  }
  out.push_back('"');
}

void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[64];
  // Shortest text that reads back as the same double: 33.33 prints "33.33", not 33.329999999999998.
  const auto res = std::to_chars(buf, buf + sizeof buf, d);
  std::string_view text(buf, static_cast<std::size_t>(res.ptr - buf));
  out.append(text);
  // Keep it visibly a fraction (10.0, like the contract's example), so clients that type on the
  // syntax (Python's json) see a float every time, not an int for whole percents.
  if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

void append_value(std::string& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null: out += "null"; break;
    case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case boost::json::kind::int64: out += std::to_string(v.get_int64()); break;
    case boost::json::kind::uint64: out += std::to_string(v.get_uint64()); break;
    case boost::json::kind::double_: append_double(out, v.get_double()); break;
    case boost::json::kind::string: append_string(out, v.get_string()); break;
    case boost::json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        append_value(out, e);
      }
      out.push_back(']');
      break;
    }
    case boost::json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out.push_back(',');
        first = false;
        append_string(out, kv.key());
        out.push_back(':');
        append_value(out, kv.value());
      }
      out.push_back('}');
      break;
    }
  }
}

}  // namespace

std::string to_json_text(const boost::json::value& v) {
  std::string out;
  append_value(out, v);
  return out;
}

std::string_view json_kind_name(const boost::json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
    default: return "a number";
  }
}

Result<config::BasisPoints> json_weight(const boost::json::value& v, const std::string* written,
                                        std::string_view field) {
  if (!v.is_number()) {
    return fail(std::string(field) + ": must be a number from 0 to 100 with at most two decimals, got " +
                std::string(json_kind_name(v)));
  }
  auto bp = config::parse_weight_text(written != nullptr ? *written : to_json_text(v));
  if (!bp) return fail(std::string(field) + ": " + bp.error().message);
  return *bp;
}

}  // namespace canaryd::weights
