// Parsing -s / CANARYD_URL into a ServerUrl (see server_url.hpp).
#include "ctl/server_url.hpp"

#include <boost/url.hpp>

#include "ctl/numbers.hpp"

namespace canaryd::ctl {

Result<ServerUrl> parse_server_url(std::string_view text) {
  // Operators type "127.0.0.1:9901" as often as the full URL; without a scheme Boost.URL would read
  // "localhost:9901" as scheme "localhost".
  std::string full(text);
  if (full.find("://") == std::string::npos) full = "http://" + full;

  auto parsed = boost::urls::parse_uri(full);
  if (!parsed) return fail("\"" + std::string(text) + "\" is not a URL (" + parsed.error().message() + ")");
  const boost::urls::url_view u = *parsed;
  if (u.scheme_id() == boost::urls::scheme::https) {
    return fail("https is not supported yet (TLS comes later): use http://");
  }
  if (u.scheme_id() != boost::urls::scheme::http) return fail("\"" + std::string(text) + "\" is not an http:// URL");
  if (u.has_userinfo()) return fail("credentials in the URL are not supported: use --token-file or CANARYD_TOKEN");
  if (u.has_query() || u.has_fragment()) {
    return fail("\"" + std::string(text) + "\": a query or fragment makes no sense here");
  }
  if (u.encoded_host().empty()) return fail("\"" + std::string(text) + "\" has no host");

  ServerUrl out;
  out.text = std::string(text);
  out.host = u.host_address();  // percent-decoded, IPv6 without brackets
  out.host_header = std::string(u.encoded_host());
  if (u.has_port()) {
    // port_number() wraps 99999 silently, so the digits are checked here.
    const auto port = parse_positive_integer(u.port());
    if (!port || *port > 65535) {
      return fail("\"" + std::string(text) + "\" has an invalid port \"" + std::string(u.port()) + "\"");
    }
    out.port = static_cast<std::uint16_t>(*port);
    out.host_header += ":" + std::to_string(out.port);
  }
  std::string path(u.encoded_path());
  while (!path.empty() && path.back() == '/') path.pop_back();
  out.base_path = path;
  return out;
}

}  // namespace canaryd::ctl
