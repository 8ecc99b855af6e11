// How `ecsh enable` judges the redeploy it follows: what the progress line says, when it is over,
// and the errors a user reads when it goes wrong.

#include "ecsh/enable/rollout.hpp"

#include <gtest/gtest.h>

namespace ecsh::enable {
namespace {

using Outcome = RolloutStatus::Outcome;

ecs::ServiceView::Deployment deployment(std::string status, std::string rollout, int running) {
  ecs::ServiceView::Deployment d;
  d.status = ecs::parse_deployment_status(status);
  d.rollout_state = ecs::parse_rollout_state(rollout);
  d.running = running;
  return d;
}

ecs::ServiceView service(std::vector<ecs::ServiceView::Deployment> deployments, int desired = 2) {
  ecs::ServiceView s;
  s.name = "web";
  s.desired_count = desired;
  s.deployments = std::move(deployments);
  return s;
}

// A running task; `agent` is its container's exec agent status ("" for none).
ecs::TaskView task(std::string id, bool exec, std::string agent, std::string reason = {}) {
  ecs::TaskView t;
  t.id = std::move(id);
  t.last_status = ecs::TaskStatus::running;
  t.enable_execute_command = exec;
  ecs::ContainerView c;
  c.name = "app";
  if (!agent.empty()) c.exec_agent_status = ecs::parse_agent_status(agent);
  c.exec_agent_reason = std::move(reason);
  t.containers.push_back(c);
  return t;
}

TEST(EnableRollout, WaitsWhileOldTasksRunAndSaysHowFarItIs) {
  auto s = service({deployment("PRIMARY", "IN_PROGRESS", 1), deployment("ACTIVE", "COMPLETED", 1)});
  auto status = assess_rollout(s, {task("new1", true, "RUNNING"), task("old1", false, "")});
  EXPECT_EQ(status.outcome, Outcome::waiting);
  EXPECT_EQ(progress_line(status.progress),
            "   rollout IN_PROGRESS new tasks 1/2 (exec agent RUNNING: 1)  old tasks 1");
}

TEST(EnableRollout, ReadyOnceCompletedWithOnlyNewTasksAndARunningAgent) {
  auto s = service({deployment("PRIMARY", "COMPLETED", 2)});
  auto status = assess_rollout(s, {task("new1", true, "PENDING"), task("new2", true, "RUNNING")});
  ASSERT_EQ(status.outcome, Outcome::ready);
  ASSERT_TRUE(status.ready_task);
  EXPECT_EQ(status.ready_task->id, "new2") << "a task whose agent is RUNNING";
}

TEST(EnableRollout, ACompletedDeploymentWithATaskStartedWithoutExecIsNotOver) {
  auto s = service({deployment("PRIMARY", "COMPLETED", 2)});
  auto status = assess_rollout(s, {task("new1", true, "RUNNING"), task("old1", false, "")});
  EXPECT_EQ(status.outcome, Outcome::waiting);
}

TEST(EnableRollout, AgentsStillStartingAreWaitedFor) {
  auto s = service({deployment("PRIMARY", "COMPLETED", 1)}, 1);
  EXPECT_EQ(assess_rollout(s, {task("new1", true, "PENDING")}).outcome, Outcome::waiting);
  EXPECT_EQ(assess_rollout(s, {}).outcome, Outcome::waiting) << "no task runs yet";
}

TEST(EnableRollout, NewTasksWhoseAgentStoppedEndItWithTheReason) {
  auto s = service({deployment("PRIMARY", "COMPLETED", 1)}, 1);
  auto status =
      assess_rollout(s, {task("new1", true, "STOPPED", "AccessDeniedException: not authorized")});
  ASSERT_EQ(status.outcome, Outcome::agent_stopped);
  ASSERT_TRUE(status.agent_error);
  const auto& e = *status.agent_error;
  EXPECT_EQ(e.message,
            "the new task new1 runs, but the exec agent of container app stopped: "
            "AccessDeniedException: not authorized");
  EXPECT_EQ(e.hint, "Run ecsh doctor on the task for the fix.");
  EXPECT_EQ(exit_code_for(e), 254);
}

TEST(EnableRollout, AFailedDeploymentEndsItWithEachStoppedReasonOnce) {
  auto s = service({deployment("PRIMARY", "FAILED", 0), deployment("ACTIVE", "COMPLETED", 2)});
  s.deployments[0].rollout_state_reason = "tasks failed to start";
  auto status = assess_rollout(s, {task("old1", false, ""), task("old2", false, "")});
  ASSERT_EQ(status.outcome, Outcome::failed);
  EXPECT_EQ(status.failure, "tasks failed to start");
  EXPECT_EQ(progress_line(status.progress),
            "   rollout FAILED      new tasks 0/2 (exec agent RUNNING: 0)  old tasks 2");

  std::vector<ecs::TaskView> stopped(3);
  stopped[0].id = "s1";
  stopped[0].stopped_reason = "CannotPullContainerError: no such image";
  stopped[1].id = "s2";
  stopped[1].stopped_reason = "CannotPullContainerError: no such image";
  stopped[2].id = "s3";  // no reason given
  auto e = rollout_failed("web", status.failure, stopped);
  EXPECT_EQ(e.message,
            "the new deployment of web failed: tasks failed to start\n"
            "   s1: CannotPullContainerError: no such image");
  EXPECT_EQ(e.hint, "Fix the cause above, then run ecsh enable again.");
  EXPECT_EQ(exit_code_for(e), 254);
}

TEST(EnableRollout, WithoutAPrimaryDeploymentItWaits) {
  auto status = assess_rollout(service({}), {});
  EXPECT_EQ(status.outcome, Outcome::waiting);
  EXPECT_EQ(progress_line(status.progress),
            "   rollout ?           new tasks 0/2 (exec agent RUNNING: 0)  old tasks 0");
}

TEST(EnableRollout, ATimeoutSaysHowToWatchTheRolloutAndIsNotRetried) {
  auto e = rollout_timed_out("demo", "web", std::chrono::seconds(900));
  EXPECT_EQ(e.message, "the rollout of web did not finish in 900 s");
  EXPECT_EQ(e.hint, "Watch it with: aws ecs describe-services --cluster demo --services web");
  EXPECT_FALSE(e.retryable);
  EXPECT_EQ(exit_code_for(e), 255);
}

}  // namespace
}  // namespace ecsh::enable
