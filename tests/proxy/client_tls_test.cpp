// The client TLS contexts (upstreams, the Kubernetes API server) and KubeClient::create: what they
// build and, as Results, the exact messages they fail with (logs and `-t` print them).
#include <gtest/gtest.h>

#include "proxy/kube/kube_client.hpp"
#include "proxy/net/tls_context.hpp"

namespace canaryd::proxy {
namespace {

TEST(ClientTls, AnIpLiteralIsVerifiedAsAnIpAndSentNoSni) {
  auto tls = make_client_tls("", "", "10.0.0.1");
  ASSERT_TRUE(tls) << tls.error().message;
  EXPECT_TRUE((*tls)->verify_ip);
  EXPECT_EQ((*tls)->verify_name, "10.0.0.1");
  EXPECT_EQ((*tls)->server_name, "");
}

TEST(ClientTls, AHostNameIsSentAsSni) {
  auto tls = make_client_tls("", "", "api.example");
  ASSERT_TRUE(tls) << tls.error().message;
  EXPECT_FALSE((*tls)->verify_ip);
  EXPECT_EQ((*tls)->server_name, "api.example");
}

TEST(ClientTls, AMissingCaFileIsAnErrorNamingIt) {
  auto tls = make_client_tls("/nonexistent/ca.pem", "", "api.example");
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().message, "/nonexistent/ca.pem: cannot read: No such file or directory");
}

TEST(ClientTls, CaDataThatIsNoPemIsAnError) {
  auto tls = make_client_tls("", "not a certificate", "api.example");
  ASSERT_FALSE(tls);
  EXPECT_EQ(tls.error().message.rfind("the CA data is no usable PEM certificate: ", 0), 0u) << tls.error().message;
}

TEST(KubeClientCreate, ABadServerUrlOrCaDataIsAnError) {
  auto bad_url = KubeClient::create(config::KubeApiAccess{"ftp://api", "", "", "", ""});
  ASSERT_FALSE(bad_url);
  EXPECT_EQ(bad_url.error().message, "the API server \"ftp://api\" is not an http(s)://host:port URL");
  auto bad_ca = KubeClient::create(config::KubeApiAccess{"https://api:6443", "", "!!!", "", ""});
  ASSERT_FALSE(bad_ca);
  EXPECT_EQ(bad_ca.error().message, "certificate-authority-data is not base64");
  auto plain = KubeClient::create(config::KubeApiAccess{"http://127.0.0.1:8001", "", "", "", ""});
  EXPECT_TRUE(plain) << plain.error().message;
}

}  // namespace
}  // namespace canaryd::proxy
