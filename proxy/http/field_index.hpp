// Where each field of a parsed head is and what it is to the proxy (hop-by-hop, Host, Via, ...), so that
// a head is scanned once and the rewrite walks offsets instead of text.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/http/http_text.hpp"

namespace canaryd::proxy {

/// What a field is to the proxy, decided once when its head is parsed.
enum class FieldKind : std::uint8_t {
  Other,
  HopByHop,  ///< RFC 9110 7.6.1, other than Connection and Transfer-Encoding
  Connection,
  TransferEncoding,
  ContentLength,
  Host,
  Expect,
  Via,
  XForwardedFor,
  XForwardedProto,
};

inline FieldKind classify_field(std::string_view name) {
  using http_text::iequals;
  switch (name.size()) {
    case 3: return iequals(name, "via") ? FieldKind::Via : FieldKind::Other;
    case 4: return iequals(name, "host") ? FieldKind::Host : FieldKind::Other;
    case 6: return iequals(name, "expect") ? FieldKind::Expect : FieldKind::Other;
    case 10:
      if (iequals(name, "connection")) return FieldKind::Connection;
      return iequals(name, "keep-alive") ? FieldKind::HopByHop : FieldKind::Other;
    case 14: return iequals(name, "content-length") ? FieldKind::ContentLength : FieldKind::Other;
    case 15: return iequals(name, "x-forwarded-for") ? FieldKind::XForwardedFor : FieldKind::Other;
    case 17:
      if (iequals(name, "transfer-encoding")) return FieldKind::TransferEncoding;
      return iequals(name, "x-forwarded-proto") ? FieldKind::XForwardedProto : FieldKind::Other;
    default: return http_text::is_hop_by_hop(name) ? FieldKind::HopByHop : FieldKind::Other;
  }
}

/// Where each field line of a parsed head is, so that a head is scanned once: the rewrite walks this
/// instead of the text. Offsets are into the header block.
class FieldIndex {
 public:
  /// More field lines than this make a head unacceptable (HAProxy's tune.http.maxhdr is 101).
  static constexpr std::size_t kMaxFields = 128;

  struct Field {
    std::uint32_t at;        ///< the name's first byte, which starts the line
    std::uint32_t value_at;  ///< the value, without surrounding whitespace
    std::uint32_t value_len;
    std::uint16_t name_len;
    FieldKind kind;
  };

  /// False when full.
  bool add(std::size_t at, std::size_t name_len, std::size_t value_at, std::size_t value_len, FieldKind kind) {
    if (count_ == kMaxFields) return false;
    fields_[count_++] = Field{static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(value_at),
                              static_cast<std::uint32_t>(value_len), static_cast<std::uint16_t>(name_len), kind};
    return true;
  }

  std::size_t size() const { return count_; }
  const Field* begin() const { return fields_.data(); }
  const Field* end() const { return fields_.data() + count_; }

  static std::string_view name(std::string_view head, const Field& f) { return head.substr(f.at, f.name_len); }
  static std::string_view value(std::string_view head, const Field& f) { return head.substr(f.value_at, f.value_len); }
  /// The line as received, from the name to the end of the value ("Name: value").
  static std::string_view line(std::string_view head, const Field& f) {
    return head.substr(f.at, f.value_at + f.value_len - f.at);
  }

 private:
  std::array<Field, kMaxFields> fields_;
  std::uint16_t count_ = 0;
};

}  // namespace canaryd::proxy
