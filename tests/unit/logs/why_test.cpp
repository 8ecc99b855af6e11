#include "ecsh/logs/why.hpp"

#include <gtest/gtest.h>

namespace ecsh::logs {
namespace {

ecs::ContainerView container(std::string name, std::optional<int> exit, std::string reason = {},
                             std::string health = "UNKNOWN") {
  ecs::ContainerView c;
  c.name = std::move(name);
  c.last_status = ecs::TaskStatus::stopped;
  c.exit_code = exit;
  c.reason = std::move(reason);
  c.health_status = ecs::parse_health_status(health);
  return c;
}

ecs::TaskView stopped(std::string code, std::string reason, std::vector<ecs::ContainerView> cs) {
  ecs::TaskView t;
  t.id = "0123456789abcdef0123456789abcdef";
  t.arn = "arn:aws:ecs:us-east-1:000000000000:task/prod/" + t.id;
  t.group = "service:api";
  t.last_status = ecs::TaskStatus::stopped;
  t.desired_status = ecs::TaskStatus::stopped;
  t.stop_code = std::move(code);
  t.stopped_reason = std::move(reason);
  t.stopped_at = 1'700'000'000.0;
  t.containers = std::move(cs);
  return t;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Explain, OutOfMemory137) {
  auto e = explain_container(
      container("app", 137, "OutOfMemoryError: Container killed due to memory usage"), true, false);
  ASSERT_TRUE(e);
  EXPECT_TRUE(contains(e->what, "out of memory"));
  EXPECT_TRUE(contains(e->fix, "memory"));
}

TEST(Explain, Sigkill137WithoutOomDependsOnWhetherAStopWasAsked) {
  auto asked = explain_container(container("app", 137), true, true);
  EXPECT_TRUE(contains(asked->what, "stop timeout"));
  EXPECT_TRUE(contains(asked->fix, "SIGTERM"));
  auto not_asked = explain_container(container("app", 137), true, false);
  EXPECT_TRUE(contains(not_asked->what, "SIGKILL"));
  EXPECT_FALSE(contains(not_asked->what, "stop timeout"));
}

TEST(Explain, CannotPullContainerError) {
  auto e = explain_container(
      container("app", std::nullopt,
                "CannotPullContainerError: pull image manifest has been retried 5 time(s): "
                "failed to resolve ref 123.dkr.ecr.us-east-1.amazonaws.com/app:v9: not found"),
      true, false);
  ASSERT_TRUE(e);
  EXPECT_TRUE(contains(e->what, "image could not be pulled"));
  EXPECT_TRUE(contains(e->fix, "ecr:BatchGetImage"));
  EXPECT_TRUE(contains(e->fix, "VPC endpoints"));
}

TEST(Explain, ResourceInitializationErrorSecretsEniAndLogs) {
  auto secrets = explain_stop(
      "TaskFailedToStart",
      "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
      "retrieval failed: unable to retrieve secret from asm: AccessDeniedException");
  EXPECT_TRUE(contains(secrets->what, "secrets"));
  EXPECT_TRUE(contains(secrets->fix, "secretsmanager:GetSecretValue"));
  auto eni = explain_stop("TaskFailedToStart",
                          "ResourceInitializationError: failed to configure ENI: the subnet has "
                          "no free IP addresses");
  EXPECT_TRUE(contains(eni->what, "network interface"));
  auto logs = explain_stop(
      "TaskFailedToStart",
      "ResourceInitializationError: failed to validate logger args: create stream has been "
      "retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The "
      "specified log group does not exist. : exit status 1");
  EXPECT_TRUE(contains(logs->what, "log group does not exist"));
  EXPECT_TRUE(contains(logs->fix, "awslogs-create-group"));
}

TEST(Explain, HealthChecksElbAndContainer) {
  auto elb =
      explain_stop("ServiceSchedulerInitiated",
                   "Task failed ELB health checks in (target-group "
                   "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/api/abc)");
  EXPECT_TRUE(contains(elb->what, "load balancer"));
  EXPECT_TRUE(contains(elb->fix, "healthCheckGracePeriodSeconds"));
  auto container = explain_stop("ServiceSchedulerInitiated", "Task failed container health checks");
  EXPECT_TRUE(contains(container->what, "healthCheck"));
}

TEST(Explain, ExitCodes) {
  EXPECT_TRUE(contains(explain_container(container("a", 1), true, false)->what, "code 1"));
  EXPECT_TRUE(contains(explain_container(container("a", 127), true, false)->what, "not found"));
  EXPECT_TRUE(contains(explain_container(container("a", 139), true, false)->what, "SIGSEGV"));
  EXPECT_TRUE(contains(explain_container(container("a", 143), true, false)->what, "SIGTERM"));
  EXPECT_TRUE(contains(explain_container(container("a", 0), true, false)->what, "essential"));
  EXPECT_EQ(explain_container(container("a", 0), false, false)->what, "exited normally (0)");
  EXPECT_FALSE(explain_container(container("a", std::nullopt), true, false));
}

TEST(Judge, EssentialContainerExitedNamesTheFailedContainer) {
  auto t = stopped("EssentialContainerExited", "Essential container in task exited",
                   {container("envoy", 143), container("app", 1)});
  auto v = judge_task(t, {"app", "envoy"});
  EXPECT_EQ(v.culprit, "app");
  EXPECT_TRUE(contains(v.headline, "container app exited with code 1"));
  EXPECT_EQ(v.service, "api");
}

TEST(Judge, OomBeatsTheOtherContainers) {
  auto t =
      stopped("EssentialContainerExited", "Essential container in task exited",
              {container("side", 143),
               container("app", 137, "OutOfMemoryError: Container killed due to memory usage")});
  auto v = judge_task(t, {});
  EXPECT_EQ(v.culprit, "app");
  EXPECT_TRUE(contains(v.headline, "ran out of memory"));
}

TEST(Judge, NonEssentialZeroIsNotTheCause) {
  auto t = stopped("EssentialContainerExited", "Essential container in task exited",
                   {container("init", 0), container("app", 2)});
  auto v = judge_task(t, {"app"});
  EXPECT_EQ(v.culprit, "app");
  EXPECT_FALSE(v.containers[0].essential);
}

TEST(Judge, FailedToStartExplainsTheTaskReason) {
  auto t = stopped("TaskFailedToStart",
                   "CannotPullContainerError: pull image manifest has been retried 5 time(s)",
                   {container("app", std::nullopt)});
  auto v = judge_task(t, {});
  EXPECT_TRUE(contains(v.headline, "image could not be pulled"));
  ASSERT_TRUE(v.cause);
  EXPECT_TRUE(contains(v.cause->fix, "ecr:"));
}

TEST(Judge, HealthCheckStopPointsAtTheUnhealthyContainer) {
  auto t = stopped("ServiceSchedulerInitiated", "Task failed container health checks",
                   {container("side", 143), container("web", 137, "", "UNHEALTHY")});
  auto v = judge_task(t, {});
  EXPECT_EQ(v.culprit, "web");
  EXPECT_TRUE(contains(v.headline, "healthCheck"));
}

TEST(Judge, UserStopHasNoCulprit) {
  auto t = stopped("UserInitiated", "Task stopped by user", {container("app", 143)});
  auto v = judge_task(t, {});
  EXPECT_EQ(v.culprit, "");
  EXPECT_TRUE(contains(v.headline, "someone stopped it"));
}

TEST(Judge, RunningAndUnhealthy) {
  ecs::TaskView t;
  t.id = "t";
  t.last_status = ecs::TaskStatus::running;
  t.desired_status = ecs::TaskStatus::running;
  auto c = container("web", std::nullopt, "", "UNHEALTHY");
  c.last_status = ecs::TaskStatus::running;
  t.containers = {c};
  auto v = judge_task(t, {});
  EXPECT_EQ(v.culprit, "web");
  EXPECT_TRUE(contains(v.headline, "UNHEALTHY"));
}

ecs::ServiceView service_with_rollback() {
  ecs::ServiceView s;
  s.name = "api";
  s.status = "ACTIVE";
  s.desired_count = 2;
  s.running_count = 2;
  ecs::ServiceView::Deployment back;
  back.id = "ecs-svc/222";
  back.status = ecs::DeploymentStatus::primary;
  back.rollout_state = ecs::RolloutState::in_progress;
  back.rollout_state_reason =
      "ECS deployment circuit breaker: rolling back to deploymentId "
      "ecs-svc/111.";
  ecs::ServiceView::Deployment failed;
  failed.id = "ecs-svc/333";
  failed.status = ecs::DeploymentStatus::active;
  failed.rollout_state = ecs::RolloutState::failed;
  failed.failed = 3;
  failed.rollout_state_reason = "ECS deployment circuit breaker: tasks failed to start.";
  s.deployments = {back, failed};
  for (int i = 0; i < 15; ++i) {
    ecs::ServiceView::Event e;
    e.message = "(service api) event " + std::to_string(i);
    e.created_at = 1'700'000'000.0 - i * 60;
    s.events.push_back(e);
  }
  return s;
}

TEST(JudgeService, RollbackAndFailedDeployment) {
  auto v = judge_service(service_with_rollback());
  EXPECT_EQ(v.rolled_back_to, "ecs-svc/111");
  EXPECT_TRUE(contains(v.headline, "rolled back to ecs-svc/111"));
  ASSERT_EQ(v.notes.size(), 2u);
  EXPECT_TRUE(contains(v.notes[1], "ecs-svc/333 FAILED (3 failed tasks)"));
  EXPECT_EQ(v.events.size(), 10u);  // the newest ten
}

TEST(JudgeService, ShortOfTasks) {
  ecs::ServiceView s;
  s.name = "api";
  s.desired_count = 3;
  s.running_count = 1;
  ecs::ServiceView::Deployment d;
  d.failed = 4;
  d.rollout_state = ecs::RolloutState::in_progress;
  s.deployments = {d};
  EXPECT_EQ(judge_service(s).headline, "1 of 3 tasks running (4 failed to stay up).");
}

TEST(Render, WrapKeepsWithinWidth) {
  auto lines = wrap("aaa bbb ccc ddd", 8, "> ", "  ");
  EXPECT_EQ(lines, (std::vector<std::string>{"> aaa", "  bbb", "  ccc", "  ddd"}));
  auto cut = wrap(std::string(30, 'x'), 10, "", "");
  for (const auto& l : cut) EXPECT_LE(l.size(), 10u);
  EXPECT_EQ(cut.size(), 3u);
}

TEST(Render, TaskAndServiceFit80Columns) {
  auto t = stopped("EssentialContainerExited", "Essential container in task exited",
                   {container("a-container-with-a-rather-long-name", 137,
                              "OutOfMemoryError: Container killed due to memory usage"),
                    container("app", 1)});
  auto v = judge_task(t, {});
  auto lines = render_task(v, {"22:13:19 allocated 64 MiB"}, "", 1'700'000'090'000);
  bool found_logs = false;
  for (const auto& l : lines) {
    EXPECT_LE(l.size(), 80u) << l;
    found_logs |= contains(l, "allocated 64 MiB");
  }
  EXPECT_TRUE(found_logs);
  EXPECT_TRUE(contains(lines[0], "STOPPED 1m ago"));
  for (const auto& l : render_service(judge_service(service_with_rollback()), 1'700'000'000'000))
    EXPECT_LE(l.size(), 80u) << l;
}

TEST(Render, NoLogLinesSaysWhy) {
  auto t = stopped("EssentialContainerExited", "Essential container in task exited",
                   {container("app", 1)});
  auto lines = render_task(judge_task(t, {}), {}, "firelens: not readable here", 0);
  EXPECT_TRUE(contains(lines.back(), "firelens: not readable here"));
}

TEST(Table, FitLastColumnCutsOnlyTheReason) {
  std::vector<std::string> head{"TASK", "REASON"};
  std::vector<std::vector<std::string>> rows{{"abcdef12", std::string(100, 'r')}, {"x", "short"}};
  fit_last_column(head, rows, 40);
  EXPECT_EQ(rows[0][0], "abcdef12");
  EXPECT_EQ(rows[1][1], "short");
  // 8 + 2 + reason (with the ellipsis, one column) = 40.
  EXPECT_EQ(rows[0][1].size(), 29u + 3u);
}

TEST(Table, ExitCodes) {
  auto t = stopped("x", "y", {container("app", 1), container("side", std::nullopt)});
  EXPECT_EQ(exit_codes(t), "app:1");
  t.containers.clear();
  EXPECT_EQ(exit_codes(t), "-");
}

}  // namespace
}  // namespace ecsh::logs
