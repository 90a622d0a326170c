#pragma once

#include <string_view>

#include <boost/beast/http/fields.hpp>

namespace canaryd::proxy {

/// Removes the hop-by-hop fields (RFC 9110 7.6.1): every field named in Connection, then Connection,
/// Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-Authenticate and
/// Proxy-Authorization. Framing is re-set by the caller afterwards.
void strip_hop_by_hop(boost::beast::http::fields& fields);

/// Adds what an upstream needs to know about the client: X-Forwarded-For appended (all earlier values
/// kept, in order), X-Forwarded-Proto replaced, and our Via entry appended.
void add_forwarding_fields(boost::beast::http::fields& fields, std::string_view client_ip, std::string_view proto);

/// Our entry in Via, appended to both requests and responses.
inline constexpr std::string_view kViaEntry = "1.1 canaryd";

}  // namespace canaryd::proxy
