// Unit tests of the rollout plan file: YAML to the JSON body of POST /api/rollout, numbers kept as
// written, strings and booleans as YAML means them, the `rollout:` wrapper, and the errors.
#include "ctl/plan_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace canaryd::ctl {
namespace {

std::string json_of(std::string_view yaml) {
  auto r = plan_json_from_yaml(yaml);
  if (!r) {
    ADD_FAILURE() << r.error().message;
    return {};
  }
  return r.value();
}

std::string error_of(std::string_view yaml) {
  auto r = plan_json_from_yaml(yaml);
  return r ? std::string("<converted: ") + r.value() + ">" : r.error().message;
}

TEST(PlanFileTest, ConvertsTheContractsPlanKeepingNumbersAsWritten) {
  const std::string yaml = R"(rollout:
  steps:
    - {weight: 5, pause: 2m}
    - {weight: 33.33, pause: manual}   # waits for resume
    - weight: 50
      pause: 5m
    - {promote: true}
  analysis:
    interval: 10s
    min_requests: 50
    max_error_rate: 1
    alpha: 0.01
    max_p99_ratio: 1.5
)";
  EXPECT_EQ(json_of(yaml),
            R"({"steps":[{"weight":5,"pause":"2m"},{"weight":33.33,"pause":"manual"},{"weight":50,"pause":"5m"},)"
            R"({"promote":true}],"analysis":{"interval":"10s","min_requests":50,"max_error_rate":1,"alpha":0.01,)"
            R"("max_p99_ratio":1.5}})");
}

TEST(PlanFileTest, TheMapAloneIsAPlanToo) {
  EXPECT_EQ(json_of("steps:\n  - {weight: 10.50}\n"), R"({"steps":[{"weight":10.50}]})");
}

TEST(PlanFileTest, AWholeConfigGivesItsRolloutSection) {
  EXPECT_EQ(json_of("listen: 0.0.0.0:8080\nrollout:\n  steps: [{weight: 5}]\nstate_file: /x\n"),
            R"({"steps":[{"weight":5}]})");
}

TEST(PlanFileTest, ScalarsAreWhatYamlSaysTheyAre) {
  // Quoted or !!str: a string even when it reads as a number; YAML 1.2 booleans in any case; null.
  EXPECT_EQ(json_of(R"(a: "5"
b: '33.33'
c: !!str 7
d: True
e: FALSE
f: ~
g:
h: yes
i: 1e2
j: -3
k: .5
l: 007
m: "say \"hi\""
n: [1, two, 3.0]
)"),
            R"({"a":"5","b":"33.33","c":"7","d":true,"e":false,"f":null,"g":null,"h":"yes","i":1e2,"j":-3,)"
            R"("k":".5","l":"007","m":"say \"hi\"","n":[1,"two",3.0]})");
}

TEST(PlanFileTest, ErrorsNameTheField) {
  EXPECT_EQ(error_of("steps:\n  - {weight: 5, weight: 6}\n"), "steps[0]: duplicate key \"weight\"");
  EXPECT_EQ(error_of("rollout:\n  steps: []\n  steps: []\n"), "rollout: duplicate key \"steps\"");
  EXPECT_EQ(error_of(""), "the plan is empty");
  EXPECT_EQ(error_of("- {weight: 5}\n"), "the plan must be a map (steps, analysis), or have a top-level rollout: key");
  EXPECT_EQ(error_of("rollout: manual\n"), "rollout: must be a map (steps, analysis)");
  EXPECT_EQ(error_of("steps: [1, 2\n").rfind("not YAML: ", 0), 0u) << error_of("steps: [1, 2\n");
}

TEST(PlanFileTest, ReadsTheFileAndNamesItInErrors) {
  const auto path = std::filesystem::temp_directory_path() / ("canaryctl-plan-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << "rollout:\n  steps:\n    - {weight: 5, pause: manual}\n";
  auto r = read_plan_file(path.string());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value(), R"({"steps":[{"weight":5,"pause":"manual"}]})");
  std::ofstream(path) << "steps: {weight: 5\n";
  r = read_plan_file(path.string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind(path.string() + ": not YAML", 0), 0u) << r.error().message;
  std::filesystem::remove(path);
  r = read_plan_file(path.string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, path.string() + ": cannot read the file");
}

}  // namespace
}  // namespace canaryd::ctl
