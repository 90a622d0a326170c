// Unit tests of what a reload reports: the keys that changed (endpoints with what was added and
// removed), and the notice that a changed service.canary_weight does not move the weight in force.
#include "proxy/control/reload_changes.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace canaryd::proxy {
namespace {

config::Config base() {
  config::Config c;
  c.source = "/etc/canaryd.yaml";
  c.endpoints = {config::Endpoint{config::HostPort{"127.0.0.1", 18081}, {{"version", "v1"}}, std::nullopt, ""},
                 config::Endpoint{config::HostPort{"127.0.0.1", 18082}, {{"version", "v2"}}, std::nullopt, ""}};
  c.service.canary_weight = 1000;
  return c;
}

TEST(ReloadChanges, NothingChanged) {
  EXPECT_TRUE(changed_keys(base(), base()).empty());
  EXPECT_EQ(join_changes({}), "nothing");
}

TEST(ReloadChanges, NamesEachChangedKeyInOrder) {
  config::Config next = base();
  next.timeouts.connect = std::chrono::milliseconds(500);
  next.endpoints.pop_back();
  next.endpoints.push_back(config::Endpoint{config::HostPort{"127.0.0.1", 18083}, {}, std::nullopt, ""});
  next.endpoints.push_back(config::Endpoint{config::HostPort{"127.0.0.1", 18084}, {}, std::nullopt, ""});
  next.service.canary_weight = 2000;
  next.access_log.path = "/var/log/canaryd/access.log";
  next.log_format = config::LogFormat::Json;
  next.routing.retries = 0;
  const auto keys = changed_keys(base(), next);
  EXPECT_EQ(join_changes(keys), "endpoints (+2 -1), service.canary_weight, routing, timeouts, access_log, log_format");
}

TEST(ReloadChanges, CanaryWeightNoticeSaysTheStateWinsAndHowToApply) {
  config::Config next = base();
  next.service.canary_weight = 2500;
  const auto notice = canary_weight_notice(base(), next, 1000, "/var/lib/canaryd/state.json");
  ASSERT_TRUE(notice);
  EXPECT_EQ(*notice,
            "reload: service.canary_weight is now 25 in /etc/canaryd.yaml, but the routing state in "
            "/var/lib/canaryd/state.json decides the weight and keeps 10% (the file's weight is used only when "
            "there is no state); to apply it: canaryctl weight 25");
}

TEST(ReloadChanges, NoNoticeWhenTheWeightDidNotChangeOrIsInForce) {
  EXPECT_FALSE(canary_weight_notice(base(), base(), 500, "s.json"));  // the file's weight as before
  config::Config next = base();
  next.service.canary_weight = 500;
  EXPECT_FALSE(canary_weight_notice(base(), next, 500, "s.json"));  // already the weight in force
}

}  // namespace
}  // namespace canaryd::proxy
