#pragma once

#include <string_view>

#include <boost/beast/http/fields.hpp>

namespace canaryd::proxy {

/// Removes the hop-by-hop fields (RFC 9110 7.6.1): every field named in Connection, then Connection,
/// Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-Authenticate and
/// Proxy-Authorization. Framing is re-set by the caller afterwards.
void strip_hop_by_hop(boost::beast::http::fields& fields);

/// Our entry in Via for a message received as HTTP/1.1 (RFC 9110 7.6.3 names the received version).
inline constexpr std::string_view kViaEntry = "1.1 canaryd";
inline constexpr std::string_view kViaEntryHttp10 = "1.0 canaryd";

/// Adds what an upstream needs to know about the client: X-Forwarded-For appended (all earlier values
/// kept, in order), X-Forwarded-Proto replaced, and our Via entry appended.
void add_forwarding_fields(boost::beast::http::fields& fields, std::string_view client_ip, std::string_view proto,
                           std::string_view via_entry = kViaEntry);

/// Appends our entry to Via (all earlier values kept, in order).
void append_via(boost::beast::http::fields& fields, std::string_view via_entry);

}  // namespace canaryd::proxy
