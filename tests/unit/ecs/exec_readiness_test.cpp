// The one exec-readiness rule (ecs/exec_readiness.hpp): what ls, run, exec --via auto, doctor
// and enable say about whether ECS Exec can get into a task or a container.

#include "ecsh/ecs/exec_readiness.hpp"

#include <gtest/gtest.h>

namespace ecsh::ecs {
namespace {

ContainerView container(std::string name, std::optional<AgentStatus> agent = AgentStatus::running,
                        std::string reason = {}) {
  ContainerView c;
  c.name = std::move(name);
  c.last_status = TaskStatus::running;
  c.exec_agent_status = agent;
  c.exec_agent_reason = std::move(reason);
  return c;
}

TaskView task(std::vector<ContainerView> containers) {
  TaskView t;
  t.id = "0123abcd";
  t.last_status = TaskStatus::running;
  t.desired_status = TaskStatus::running;
  t.enable_execute_command = true;
  t.containers = std::move(containers);
  return t;
}

TEST(ExecReadiness, ARunningAgentInARunningTaskIsReady) {
  auto t = task({container("app")});
  auto r = exec_readiness(t, t.containers[0]);
  EXPECT_TRUE(r.ready());
  EXPECT_EQ(r.verdict(), ExecVerdict::ready);
  EXPECT_EQ(r.summary(), "ready");
  EXPECT_TRUE(exec_readiness(t).ready());
}

TEST(ExecReadiness, TheTaskDecidesFirst) {
  auto t = task({container("app", AgentStatus::stopped, "no credentials")});
  t.last_status = TaskStatus::stopped;
  t.desired_status = TaskStatus::stopped;
  auto r = exec_readiness(t, t.containers[0]);
  EXPECT_EQ(r.blocker, ExecBlocker::task_not_running);
  EXPECT_EQ(r.verdict(), ExecVerdict::blocked);
  EXPECT_EQ(r.summary(), "task STOPPED");

  t.last_status = TaskStatus::pending;
  t.desired_status = TaskStatus::running;
  EXPECT_EQ(exec_readiness(t).blocker, ExecBlocker::task_starting);
  EXPECT_EQ(exec_readiness(t).verdict(), ExecVerdict::waiting);
  EXPECT_EQ(exec_readiness(t).summary(), "task PENDING");

  // Asked to stop before it ever ran: it will not become ready.
  t.desired_status = TaskStatus::stopped;
  EXPECT_EQ(exec_readiness(t).blocker, ExecBlocker::task_not_running);
}

TEST(ExecReadiness, ExecDisabledAtLaunchBlocksEveryContainer) {
  auto t = task({container("app", std::nullopt), container("log", std::nullopt)});
  t.enable_execute_command = false;
  EXPECT_EQ(exec_readiness(t).blocker, ExecBlocker::exec_not_enabled);
  EXPECT_EQ(exec_readiness(t, t.containers[1]).summary(), "exec not enabled at launch");
}

TEST(ExecReadiness, AgentStatusesSayWhetherToWait) {
  auto t = task({container("app", AgentStatus::pending)});
  EXPECT_EQ(exec_readiness(t).blocker, ExecBlocker::agent_pending);
  EXPECT_EQ(exec_readiness(t).verdict(), ExecVerdict::waiting);
  EXPECT_EQ(exec_readiness(t).summary(), "agent PENDING");

  t.containers[0].exec_agent_status = AgentStatus::stopped;
  t.containers[0].exec_agent_reason = "AccessDeniedException";
  EXPECT_EQ(exec_readiness(t).blocker, ExecBlocker::agent_stopped);
  EXPECT_EQ(exec_readiness(t).verdict(), ExecVerdict::blocked);
  EXPECT_EQ(exec_readiness(t).summary(), "agent STOPPED: AccessDeniedException");

  t.containers[0].exec_agent_status = parse_agent_status("RESTARTING");
  EXPECT_EQ(exec_readiness(t).blocker, ExecBlocker::agent_status_unknown);
}

TEST(ExecReadiness, ASidecarWithoutAnAgentDoesNotBlockTheTask) {
  auto t = task({container("guardduty", std::nullopt), container("app")});
  EXPECT_EQ(exec_readiness(t, t.containers[0]).blocker, ExecBlocker::no_agent);
  EXPECT_EQ(exec_readiness(t, t.containers[0]).summary(), "no exec agent (sidecar)");
  EXPECT_TRUE(exec_readiness(t).ready());
  EXPECT_EQ(exec_readiness(t).container, "app");
}

TEST(ExecReadiness, TheTaskReportsItsAgentContainerRatherThanASidecar) {
  auto t =
      task({container("guardduty", std::nullopt), container("app", AgentStatus::stopped, "x")});
  auto r = exec_readiness(t);
  EXPECT_EQ(r.blocker, ExecBlocker::agent_stopped);
  EXPECT_EQ(r.container, "app");
}

TEST(ExecReadiness, NoAgentInAnyContainerIsItsOwnCause) {
  // An ECS agent, AMI or platform without ECS Exec: enabled at launch, yet no agent anywhere.
  auto t = task({container("app", std::nullopt), container("log", std::nullopt)});
  EXPECT_EQ(exec_readiness(t).blocker, ExecBlocker::no_agent_in_task);
  EXPECT_EQ(exec_readiness(t, t.containers[0]).blocker, ExecBlocker::no_agent_in_task);
  EXPECT_EQ(exec_readiness(t).summary(), "no exec agent in any container");
  // Not described yet: nothing to exec into.
  EXPECT_EQ(exec_readiness(task({})).blocker, ExecBlocker::no_agent_in_task);
}

TEST(StatusWords, RoundTripAndUnknownWords) {
  for (auto s : {TaskStatus::provisioning, TaskStatus::pending, TaskStatus::activating,
                 TaskStatus::running, TaskStatus::deactivating, TaskStatus::stopping,
                 TaskStatus::deprovisioning, TaskStatus::stopped, TaskStatus::deleted}) {
    EXPECT_EQ(parse_task_status(name(s)), s) << name(s);
  }
  EXPECT_EQ(parse_task_status("HIBERNATING"), TaskStatus::unknown);
  EXPECT_EQ(parse_task_status(""), TaskStatus::unknown);
  EXPECT_EQ(parse_task_status("running"), TaskStatus::unknown);  // ECS's words are upper case
  EXPECT_EQ(name(parse_rollout_state("IN_PROGRESS")), "IN_PROGRESS");
  EXPECT_EQ(parse_deployment_status("PRIMARY"), DeploymentStatus::primary);
  EXPECT_EQ(parse_health_status("UNHEALTHY"), HealthStatus::unhealthy);
  EXPECT_EQ(parse_cluster_status("INACTIVE"), ClusterStatus::inactive);
  EXPECT_EQ(name(AgentStatus::unknown), "UNKNOWN");
  EXPECT_TRUE(is_starting(TaskStatus::activating));
  EXPECT_FALSE(is_starting(TaskStatus::running));
  EXPECT_TRUE(is_ending(TaskStatus::deactivating));
  EXPECT_FALSE(is_ending(TaskStatus::running));
}

}  // namespace
}  // namespace ecsh::ecs
