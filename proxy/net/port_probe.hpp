// Finds out, before canaryd binds anything, whether another process already listens on an address:
// the workers bind with SO_REUSEPORT, which would otherwise silently share a port with any process of
// the same user that did too (a second canaryd, say) and split the traffic with it.
#pragma once


#include <boost/asio/ip/tcp.hpp>

#include "config/result.hpp"

namespace canaryd::proxy {

/// Why `address` cannot be ours (in use by another process, not available on this host, no permission),
/// as the error; success when a listener could bind it now. Port 0 is always free.
Result<void> probe_listen_address(const boost::asio::ip::tcp::endpoint& address);

}  // namespace canaryd::proxy
