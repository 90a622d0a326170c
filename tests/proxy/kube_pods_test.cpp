// Unit tests of reading pods and applying list answers and watch events (bookmarks, 410 relist).
#include "proxy/kube/kube_pods.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace canaryd::proxy {
namespace {

namespace json = boost::json;

config::KubernetesDiscovery port80() {
  config::KubernetesDiscovery d;
  d.namespace_name = "web";
  d.port_number = 80;
  return d;
}

// A pod as the API server sends it, in the seed's shapes: Pending without an IP, Running and Ready,
// Terminating.
std::string pod_json(const std::string& name, const std::string& ip, bool ready, const std::string& version,
                     bool terminating = false, const std::string& rv = "1") {
  std::string status = ip.empty() ? R"("phase": "Pending")"
                                  : R"("phase": "Running", "podIP": ")" + ip + R"(", "conditions": [
        {"type": "Initialized", "status": "True"},
        {"type": "Ready", "status": ")" + std::string(ready ? "True" : "False") + R"("}])";
  return R"({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": ")" + name + R"(", "namespace": "web",
    "resourceVersion": ")" + rv + R"(", "labels": {"name": "nginx", "version": ")" + version + R"("})" +
         (terminating ? R"(, "deletionTimestamp": "2026-11-27T10:00:00Z")" : "") + R"(},
    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
      "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}, {"containerPort": 9000}]}]},
    "status": {)" + status + "}}";
}

std::string list_json(const std::vector<std::string>& pods, const std::string& rv) {
  std::string items;
  for (const auto& p : pods) items += (items.empty() ? "" : ",") + p;
  return R"({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": ")" + rv + R"("}, "items": [)" +
         items + "]}";
}

std::string event_json(const std::string& type, const std::string& object) {
  return R"({"type": ")" + type + R"(", "object": )" + object + "}";
}

std::vector<std::string> names(const std::vector<config::Endpoint>& eps) {
  std::vector<std::string> out;
  for (const auto& e : eps) out.push_back(e.pod + "=" + e.address.to_string());
  return out;
}

TEST(KubePodsTest, ParsesAPod) {
  auto pod = parse_pod(json::parse(pod_json("nginx-v1-abc", "10.244.1.5", true, "v1")));
  ASSERT_TRUE(pod) << pod.error().message;
  EXPECT_EQ(pod->name, "nginx-v1-abc");
  EXPECT_EQ(pod->ip, "10.244.1.5");
  EXPECT_TRUE(pod->ready);
  EXPECT_FALSE(pod->terminating);
  EXPECT_EQ(pod->labels, (config::Labels{{"name", "nginx"}, {"version", "v1"}}));
  EXPECT_EQ(pod->named_ports, (std::map<std::string, std::uint16_t>{{"http", 8080}}));
  EXPECT_EQ(pod->address(port80()), (config::HostPort{"10.244.1.5", 80}));
}

TEST(KubePodsTest, OnlyReadyRunningPodsWithAnIpAreEndpoints) {
  auto d = port80();
  auto pending = parse_pod(json::parse(pod_json("p", "", false, "v1")));
  auto not_ready = parse_pod(json::parse(pod_json("n", "10.0.0.2", false, "v1")));
  auto terminating = parse_pod(json::parse(pod_json("t", "10.0.0.3", true, "v1", true)));
  ASSERT_TRUE(pending && not_ready && terminating);
  EXPECT_FALSE(pending->address(d));
  EXPECT_FALSE(not_ready->address(d));
  EXPECT_TRUE(terminating->terminating);
  EXPECT_FALSE(terminating->address(d));
}

TEST(KubePodsTest, NamedPortResolvesPerPod) {
  auto pod = parse_pod(json::parse(pod_json("a", "10.0.0.1", true, "v1")));
  ASSERT_TRUE(pod);
  auto d = port80();
  d.port_number = 0;
  d.port_name = "http";
  EXPECT_EQ(pod->address(d), (config::HostPort{"10.0.0.1", 8080}));
  d.port_name = "metrics";
  EXPECT_FALSE(pod->address(d)) << "a pod without that named port gets no traffic";
}

TEST(KubePodsTest, NotAPodIsAnError) {
  EXPECT_FALSE(parse_pod(json::parse("[]")));
  auto nameless = parse_pod(json::parse(R"({"metadata": {}})"));
  EXPECT_FALSE(nameless);
  EXPECT_EQ(nameless.error().message, "a Pod without metadata.name");
}

TEST(KubePodsTest, ListThenWatchEvents) {
  PodSet set;
  auto listed = set.apply_list(json::parse(list_json({pod_json("v1-a", "10.0.0.1", true, "v1"),
                                                     pod_json("v1-b", "", false, "v1")},
                                                    "100")));
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_EQ(set.resource_version(), "100");
  const auto d = port80();
  EXPECT_EQ(names(set.endpoints(d)), (std::vector<std::string>{"v1-a=10.0.0.1:80"}));

  // v1-b becomes Ready with an IP, then v1-a starts terminating, then is deleted.
  EXPECT_EQ(*set.apply_event(json::parse(event_json("MODIFIED", pod_json("v1-b", "10.0.0.2", true, "v1", false, "101")))),
            PodSet::EventResult::Changed);
  EXPECT_EQ(names(set.endpoints(d)), (std::vector<std::string>{"v1-a=10.0.0.1:80", "v1-b=10.0.0.2:80"}));
  EXPECT_EQ(set.resource_version(), "101");
  (void)set.apply_event(json::parse(event_json("MODIFIED", pod_json("v1-a", "10.0.0.1", false, "v1", true, "102"))));
  EXPECT_EQ(names(set.endpoints(d)), (std::vector<std::string>{"v1-b=10.0.0.2:80"}));
  (void)set.apply_event(json::parse(event_json("DELETED", pod_json("v1-a", "10.0.0.1", false, "v1", true, "103"))));
  EXPECT_EQ(set.pods().size(), 1u);
  EXPECT_EQ(set.resource_version(), "103");
  (void)set.apply_event(json::parse(event_json("ADDED", pod_json("v2-a", "10.0.0.9", true, "v2", false, "104"))));
  const auto eps = set.endpoints(d);
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(eps[1].labels.at("version"), "v2");
  EXPECT_EQ(eps[1].pod, "v2-a");
}

TEST(KubePodsTest, BookmarkMovesTheVersionOnly) {
  PodSet set;
  ASSERT_TRUE(set.apply_list(json::parse(list_json({}, "5"))));
  EXPECT_EQ(*set.apply_event(json::parse(R"({"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1",
      "metadata": {"resourceVersion": "77"}}})")),
            PodSet::EventResult::Unchanged);
  EXPECT_EQ(set.resource_version(), "77");
  EXPECT_TRUE(set.pods().empty());
}

TEST(KubePodsTest, ExpiredVersionAsksForARelist) {
  PodSet set;
  EXPECT_EQ(*set.apply_event(json::parse(R"j({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1",
      "status": "Failure", "message": "too old resource version: 5 (90)", "reason": "Expired", "code": 410}})j")),
            PodSet::EventResult::Expired);
  // An event that cannot be applied (formerly EventResult::Invalid) is now the Result's error.
  auto failed = set.apply_event(json::parse(R"({"type": "ERROR", "object": {"kind": "Status", "code": 500,
      "message": "internal"}})"));
  EXPECT_FALSE(failed);
  EXPECT_EQ(failed.error().message, "watch error: internal");
  EXPECT_FALSE(set.apply_event(json::parse(R"({"type": "RENAMED", "object": {}})")));
}

TEST(KubePodsTest, ABadListChangesNothing) {
  PodSet set;
  ASSERT_TRUE(set.apply_list(json::parse(list_json({pod_json("a", "10.0.0.1", true, "v1")}, "9"))));
  EXPECT_FALSE(set.apply_list(json::parse(R"({"kind": "Status", "code": 403})")));
  EXPECT_FALSE(set.apply_list(json::parse(list_json({R"({"metadata": {}})"}, "10"))));
  EXPECT_EQ(set.pods().size(), 1u);
  EXPECT_EQ(set.resource_version(), "9");
}

}  // namespace
}  // namespace canaryd::proxy
