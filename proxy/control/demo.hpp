// `canaryd --demo`: four tiny loopback upstreams (three v1, one v2) and the config that puts canaryd in
// front of them, for a first try without any setup (demo_hint.hpp: what it prints).
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "config/config.hpp"

namespace canaryd::proxy {

/// The `--demo` world: four tiny HTTP upstreams on loopback (three labelled version=v1, one version=v2)
/// answering every request with their version, and the config that puts canaryd in front of them.
class DemoUpstreams {
 public:
  /// Binds the upstreams on ephemeral loopback ports of `io` (the main thread's) and starts serving.
  explicit DemoUpstreams(boost::asio::io_context& io);
  ~DemoUpstreams();

  /// proxy on 127.0.0.1:8080, control on 127.0.0.1:9901, canary weight 10, state in `state_dir`.
  config::Config make_config(const std::string& state_dir) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace canaryd::proxy
