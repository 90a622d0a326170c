// The built canaryctl binary's exit statuses without a server: 3 unreachable, 2 usage error, 0 --version.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdlib>
#include <string>

namespace {

#ifdef CANARYCTL_BINARY
/// Runs the built canaryctl through the shell with that environment prefix; returns its exit status.
int run_canaryctl(const std::string& env, const std::string& args) {
  const std::string command = env + " '" CANARYCTL_BINARY "' " + args + " >/dev/null 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
#endif

TEST(CanaryctlBinaryTest, ExitCodesWithoutAServer) {
#ifndef CANARYCTL_BINARY
  GTEST_SKIP() << "CANARYCTL_BINARY is not defined by the build";
#else
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();
  const std::string env = "CANARYD_URL=http://127.0.0.1:" + std::to_string(port);

  EXPECT_EQ(run_canaryctl(env, "status"), 3);
  EXPECT_EQ(run_canaryctl(env, "weight 20"), 3);
  EXPECT_EQ(run_canaryctl(env, "frobnicate"), 2);
  EXPECT_EQ(run_canaryctl(env, "weight abc"), 2);
  EXPECT_EQ(run_canaryctl(env, "--version"), 0);
#endif
}

}  // namespace
