#include "ecsh/fleet/plan.hpp"

#include <gtest/gtest.h>

namespace ecsh::fleet {
namespace {

ecs::ContainerView container(std::string name, std::optional<std::string> agent = "RUNNING") {
  ecs::ContainerView c;
  c.name = std::move(name);
  c.runtime_id = c.name + "-rt";
  c.last_status = ecs::TaskStatus::running;
  if (agent) c.exec_agent_status = ecs::parse_agent_status(*agent);
  return c;
}

ecs::TaskView task(std::string id, std::string service, std::string family = "web") {
  ecs::TaskView t;
  t.id = std::move(id);
  t.arn = "arn:aws:ecs:us-east-1:000000000000:task/prod/" + t.id;
  t.task_definition_arn = "arn:aws:ecs:us-east-1:000000000000:task-definition/" + family + ":3";
  t.last_status = ecs::TaskStatus::running;
  t.group = service.empty() ? "family:" + family : "service:" + service;
  t.enable_execute_command = true;
  t.containers.push_back(container("app"));
  return t;
}

ClusterTasks cluster(std::vector<ecs::TaskView> tasks) {
  ClusterTasks c;
  c.cluster_arn = "arn:aws:ecs:us-east-1:000000000000:cluster/prod";
  c.cluster_name = "prod";
  c.tasks = std::move(tasks);
  return c;
}

TEST(FleetPlan, TaskFamilyIsTheTaskDefinitionWithoutRevision) {
  EXPECT_EQ(task_family(task("a", "web", "api-v2")), "api-v2");
}

TEST(FleetPlan, ShortIdsAreSixCharactersUnlessTwoShareThem) {
  auto s = short_ids({"3f2a91aaaa", "3f2a91bbbb", "0123456789", "3f2b00"});
  EXPECT_EQ(s, (std::vector<std::string>{"3f2a91a", "3f2a91b", "012345", "3f2b00"}));
  EXPECT_EQ(short_ids({"abc"}), (std::vector<std::string>{"abc"}));
}

TEST(FleetPlan, EveryRunningTaskOfTheServicesNamedSortedWithLabels) {
  auto stopped = task("cc00000000", "web");
  stopped.last_status = ecs::TaskStatus::stopped;
  auto plan_result = plan({cluster({task("bb00000000", "web"), task("aa00000000", "web"),
                                    task("dd00000000", "worker"), stopped})},
                          Selection{{"web"}, "", ""});
  ASSERT_TRUE(plan_result);
  const auto& t = plan_result.value();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].task.id, "aa00000000");
  EXPECT_EQ(t[0].label, "aa0000/app");
  EXPECT_EQ(t[1].label, "bb0000/app");
  EXPECT_EQ(t[0].cluster_name, "prod");
  EXPECT_FALSE(t[0].unreachable);
}

TEST(FleetPlan, WithoutServicesEveryTaskOfTheClusterByFamilyWhenGiven) {
  Selection everything;
  auto all = plan({cluster({task("a1", "web"), task("b1", "", "batch")})}, everything);
  ASSERT_TRUE(all);
  EXPECT_EQ(all.value().size(), 2u);
  Selection batch;
  batch.family = "batch";
  auto only = plan({cluster({task("a1", "web"), task("b1", "", "batch")})}, batch);
  ASSERT_TRUE(only);
  ASSERT_EQ(only.value().size(), 1u);
  EXPECT_EQ(only.value()[0].task.id, "b1");
}

TEST(FleetPlan, TheApplicationContainerUnlessOneIsNamed) {
  auto t = task("a1", "web");
  t.containers.insert(t.containers.begin(), container("envoy"));
  auto chosen = plan({cluster({t})}, Selection{});
  ASSERT_TRUE(chosen);
  EXPECT_EQ(chosen.value()[0].container.name, "app");
  Selection named;
  named.container = "env";  // a unique prefix
  auto sidecar = plan({cluster({t})}, named);
  ASSERT_TRUE(sidecar);
  EXPECT_EQ(sidecar.value()[0].container.name, "envoy");
}

TEST(FleetPlan, SeveralApplicationContainersNeedMinusN) {
  auto t = task("a1", "web");
  t.containers.push_back(container("worker"));
  auto r = plan({cluster({t})}, Selection{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::usage);
  EXPECT_NE(r.error().message.find("app, worker"), std::string::npos);
  EXPECT_NE(r.error().hint.find("-n"), std::string::npos);
}

TEST(FleetPlan, NothingMatchingIsAUsageErrorThatSaysWhatWasAskedFor) {
  Selection s;
  s.services = {"web"};
  s.family = "nope";
  auto r = plan({cluster({task("a1", "web")})}, s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::usage);
  EXPECT_EQ(r.error().message, "no RUNNING task of service web of family nope in cluster prod");
  EXPECT_NE(r.error().hint.find("ecsh ls tasks"), std::string::npos);
}

TEST(FleetPlan, TasksThatCannotBeReachedAreKeptWithTheReason) {
  auto disabled = task("a1", "web");
  disabled.enable_execute_command = false;
  auto stopped_agent = task("b1", "web");
  stopped_agent.containers[0].exec_agent_status = ecs::AgentStatus::stopped;
  stopped_agent.containers[0].exec_agent_reason = "no credentials";
  auto r = plan({cluster({disabled, stopped_agent, task("c1", "web")})}, Selection{});
  ASSERT_TRUE(r);
  const auto& t = r.value();
  ASSERT_EQ(t.size(), 3u);
  ASSERT_TRUE(t[0].unreachable);
  EXPECT_NE(t[0].unreachable->reason.find("exec disabled at launch"), std::string::npos);
  EXPECT_EQ(t[0].unreachable->fix, "ecsh enable -c prod -s web  (new tasks replace it)");
  ASSERT_TRUE(t[1].unreachable);
  EXPECT_EQ(t[1].unreachable->reason, "exec agent STOPPED: no credentials");
  EXPECT_EQ(t[1].unreachable->fix, "ecsh doctor -c prod -t b1 -n app");
  EXPECT_FALSE(t[2].unreachable);
}

TEST(FleetPlan, AStandaloneTaskWithoutExecIsFixedByANewTask) {
  auto t = task("a1", "", "batch");
  t.enable_execute_command = false;
  auto u = precheck("prod", t, t.containers[0]);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->fix, "Run a new task with --enable-execute-command.");
  auto no_agent = task("b1", "web");
  auto n = precheck("prod", no_agent, container("log", std::nullopt));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->reason, "container log has no exec agent");
}

}  // namespace
}  // namespace ecsh::fleet
