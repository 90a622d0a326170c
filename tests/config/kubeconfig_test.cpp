// Unit tests of finding Kubernetes API access: kubeconfig contexts, inline CA and token, in-cluster service
// account, plain http refused, problems named.
#include "config/kubeconfig.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tests/config/noting_error.hpp"

namespace canaryd::config {
namespace {

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("canaryd-kubeconfig-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path dir_;
};

constexpr const char* kTwoContexts = R"(apiVersion: v1
kind: Config
current-context: test
clusters:
- name: other
  cluster: {server: "https://other:6443"}
- name: fake
  cluster:
    server: https://127.0.0.1:16443
    certificate-authority: ca.pem
contexts:
- name: prod
  context: {cluster: other, user: admin}
- name: test
  context: {cluster: fake, user: canaryd, namespace: web}
users:
- name: admin
  user: {token: nope}
- name: canaryd
  user: {tokenFile: /var/run/token}
)";

TEST_F(KubeconfigTest, ReadsTheCurrentContext) {
  std::string error;
  auto path = write("config", kTwoContexts);
  auto access = noting_error(read_kubeconfig(path), error);
  ASSERT_TRUE(access) << error;
  EXPECT_EQ(access->server, "https://127.0.0.1:16443");
  EXPECT_EQ(access->ca_file, (dir_ / "ca.pem").string()) << "relative to the kubeconfig's directory";
  EXPECT_EQ(access->token, "");
  EXPECT_EQ(access->token_file, "/var/run/token");
}

TEST_F(KubeconfigTest, InlineCaAndStaticToken) {
  std::string error;
  auto access = noting_error(read_kubeconfig(write("config", R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k:443", certificate-authority-data: TFMwdExT}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {token: abc.def}}]
)")), error);
  ASSERT_TRUE(access) << error;
  EXPECT_EQ(access->ca_data_base64, "TFMwdExT");
  EXPECT_EQ(access->ca_file, "");
  EXPECT_EQ(access->token, "abc.def");
}

TEST_F(KubeconfigTest, ProblemsAreNamed) {
  std::string error;
  EXPECT_FALSE(noting_error(read_kubeconfig((dir_ / "missing").string()), error));
  EXPECT_NE(error.find("missing"), std::string::npos) << error;
  EXPECT_FALSE(noting_error(read_kubeconfig(write("a", "clusters: []\n")), error));
  EXPECT_NE(error.find("no current-context"), std::string::npos) << error;
  EXPECT_FALSE(noting_error(read_kubeconfig(write("b", "current-context: x\ncontexts: []\n")), error));
  EXPECT_NE(error.find("context \"x\" not found"), std::string::npos) << error;
  EXPECT_FALSE(noting_error(read_kubeconfig(write("c", R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k:443", insecure-skip-tls-verify: true}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)")), error));
  EXPECT_NE(error.find("insecure-skip-tls-verify is not supported"), std::string::npos) << error;
  EXPECT_FALSE(noting_error(read_kubeconfig(write("d", R"(current-context: c
clusters: [{name: k, cluster: {server: "https://k:443"}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {client-certificate: a.crt, client-key: a.key}}]
)")), error));
  EXPECT_NE(error.find("only bearer tokens"), std::string::npos) << error;
  EXPECT_FALSE(noting_error(read_kubeconfig(write("e", "current-context: [\n")), error));
}

TEST_F(KubeconfigTest, InClusterUsesTheServiceAccount) {
  write("token", "t0k3n\n");
  write("ca.crt", "PEM");
  std::string error;
  auto access = noting_error(in_cluster_access("https://10.96.0.1:443", dir_.string()), error);
  ASSERT_TRUE(access) << error;
  EXPECT_EQ(access->server, "https://10.96.0.1:443");
  EXPECT_EQ(access->token_file, (dir_ / "token").string());
  EXPECT_EQ(access->ca_file, (dir_ / "ca.crt").string());

  ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  access = noting_error(in_cluster_access("", dir_.string()), error);
  ASSERT_TRUE(access) << error;
  EXPECT_EQ(access->server, "https://10.96.0.1:443");
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  EXPECT_FALSE(noting_error(in_cluster_access("", dir_.string()), error));
  EXPECT_NE(error.find("not in a cluster"), std::string::npos);
  ::unsetenv("KUBERNETES_SERVICE_PORT");
}

// An http:// API server would get the service account's token in clear text: refused wherever it is
// named (the config's api_server, a kubeconfig's server) unless discovery.kubernetes.insecure_http.
TEST_F(KubeconfigTest, ClearTextServerNeedsInsecureHttp) {
  write("token", "t0k3n\n");
  KubernetesDiscovery d;
  d.kubeconfig = write("config", R"(current-context: c
clusters: [{name: k, cluster: {server: "HTTP://127.0.0.1:8001"}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
users: [{name: u, user: {token: abc}}]
)");
  std::string error;
  EXPECT_FALSE(noting_error(kube_api_access(d, dir_.string()), error));
  EXPECT_NE(error.find(d.kubeconfig + ": server HTTP://127.0.0.1:8001: "), std::string::npos) << error;
  EXPECT_NE(error.find(kClearTextApiServer), std::string::npos) << error;
  d.insecure_http = true;
  auto access = noting_error(kube_api_access(d, dir_.string()), error);
  ASSERT_TRUE(access) << error;
  EXPECT_EQ(access->token, "abc");

  d = KubernetesDiscovery{};
  d.api_server = "http://10.96.0.1:80";
  EXPECT_FALSE(noting_error(kube_api_access(d, dir_.string()), error));
  EXPECT_EQ(error, kClearTextApiServer);
  d.insecure_http = true;
  ASSERT_TRUE(noting_error(kube_api_access(d, dir_.string()), error)) << error;
  d = KubernetesDiscovery{};
  d.api_server = "https://10.96.0.1:443";
  access = noting_error(kube_api_access(d, dir_.string()), error);
  ASSERT_TRUE(access) << error;
  EXPECT_EQ(access->token_file, (dir_ / "token").string());
}

}  // namespace
}  // namespace canaryd::config
