// When ECS Exec works for a task's container in the sandbox, and what ECS shows when it does not
// (sandbox/ecs/exec_agent_rules.hpp): each case is what a user sees in DescribeTasks'
// managedAgents and in ExecuteCommand's answer.

#include "sandbox/ecs/exec_agent_rules.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ecsh::sandbox::ecs {
namespace {

const std::string kRole = "arn:aws:iam::000000000000:role/app-task";
const std::string kKey = "arn:aws:kms:us-east-1:000000000000:key/1234abcd";

// A Fargate task on platform 1.4.0 with exec enabled, whose task role may use ssmmessages, in a
// subnet with a route out: ECS Exec works.
ExecAgentFacts working_fargate_task() {
  ExecAgentFacts f;
  f.exec_enabled = true;
  f.image = "public.ecr.aws/nginx/nginx:latest";
  f.platform.launch_type = "FARGATE";
  f.platform.platform_version = "1.4.0";
  f.credentials.task_role_arn = kRole;
  for (auto action : kExecAgentSsmActions) f.allowed_actions.emplace(action);
  return f;
}

ExecAgentFacts working_ec2_task(const std::string& agent_version) {
  ExecAgentFacts f = working_fargate_task();
  f.platform.launch_type = "EC2";
  f.platform.platform_version = "";
  f.platform.ecs_agent_version = agent_version;
  return f;
}

ExecAgentDecision as_aws(const ExecAgentFacts& f) {
  return decide_exec_agent(f, AgentReporting::as_aws);
}
ExecAgentDecision explained(const ExecAgentFacts& f) {
  return decide_exec_agent(f, AgentReporting::explained);
}

// AWS's view of an agent that cannot connect: listed RUNNING, no reason, ExecuteCommand fails.
void expect_running_but_not_connected(const ExecAgentDecision& d) {
  EXPECT_TRUE(d.listed);
  EXPECT_EQ(d.status, AgentStatus::running);
  EXPECT_EQ(d.reason, "");
  EXPECT_FALSE(d.connects);
  EXPECT_NE(d.problem, "");
}

TEST(ExecAgentRules, AWorkingTaskRoleGivesARunningAgentThatConnects) {
  for (auto d : {as_aws(working_fargate_task()), explained(working_fargate_task())}) {
    EXPECT_TRUE(d.listed);
    EXPECT_EQ(d.status, AgentStatus::running);
    EXPECT_EQ(d.reason, "");
    EXPECT_TRUE(d.connects);
    EXPECT_EQ(d.problem, "");
  }
}

TEST(ExecAgentRules, ATaskRunWithoutEnableExecuteCommandListsNoAgent) {
  ExecAgentFacts f = working_fargate_task();
  f.exec_enabled = false;
  for (auto d : {as_aws(f), explained(f)}) {
    EXPECT_FALSE(d.listed);
    EXPECT_FALSE(d.connects);
  }
}

TEST(ExecAgentRules, AGuardDutySidecarHasNoAgentWhileTheAppContainerHasOne) {
  ExecAgentFacts sidecar = working_fargate_task();
  sidecar.image = "public.ecr.aws/aws-guardduty-agent-fargate/aws-guardduty-agent:v1.0.0";
  EXPECT_FALSE(as_aws(sidecar).listed);
  EXPECT_FALSE(explained(sidecar).listed);
  EXPECT_TRUE(as_aws(working_fargate_task()).listed);
}

TEST(ExecAgentRules, ATaskRoleWithoutCreateControlChannelLeavesTheAgentUnconnected) {
  ExecAgentFacts f = working_fargate_task();
  f.allowed_actions.erase("ssmmessages:CreateControlChannel");
  const std::string why = "AccessDeniedException: " + kRole +
                          " (the task role) is not authorized to perform "
                          "ssmmessages:CreateControlChannel";

  // As AWS shows it: RUNNING without a reason, and ExecuteCommand cannot open a session.
  expect_running_but_not_connected(as_aws(f));
  EXPECT_EQ(as_aws(f).problem, why);

  // Explained (--explain-exec-failures): the agent is STOPPED with the reason.
  auto d = explained(f);
  EXPECT_TRUE(d.listed);
  EXPECT_EQ(d.status, AgentStatus::stopped);
  EXPECT_EQ(d.reason, why);
  EXPECT_FALSE(d.connects);
}

TEST(ExecAgentRules, EachMissingSsmmessagesActionIsNamed) {
  for (auto action : kExecAgentSsmActions) {
    ExecAgentFacts f = working_fargate_task();
    f.allowed_actions.erase(std::string(action));
    auto d = explained(f);
    EXPECT_FALSE(d.connects) << action;
    EXPECT_EQ(d.reason, "AccessDeniedException: " + kRole +
                            " (the task role) is not authorized to perform " + std::string(action));
  }
}

TEST(ExecAgentRules, ATaskWithoutATaskRoleHasNoCredentials) {
  ExecAgentFacts f = working_fargate_task();
  f.credentials.task_role_arn.clear();
  f.allowed_actions.clear();
  expect_running_but_not_connected(as_aws(f));
  EXPECT_EQ(explained(f).reason,
            "The ExecuteCommandAgent has no credentials: the task has no task role");
}

TEST(ExecAgentRules, AClusterExecKeyNeedsKmsDecrypt) {
  ExecAgentFacts f = working_fargate_task();
  f.kms_key_arn = kKey;
  expect_running_but_not_connected(as_aws(f));
  EXPECT_EQ(explained(f).reason, "AccessDeniedException: " + kRole +
                                     " is not authorized to perform kms:Decrypt on " + kKey);

  f.allowed_actions.emplace("kms:Decrypt");
  EXPECT_TRUE(as_aws(f).connects);
}

TEST(ExecAgentRules, SsmmessagesPermissionsAreReportedBeforeTheKmsKey) {
  ExecAgentFacts f = working_fargate_task();
  f.kms_key_arn = kKey;
  f.allowed_actions.erase("ssmmessages:OpenDataChannel");
  EXPECT_EQ(explained(f).reason, "AccessDeniedException: " + kRole +
                                     " (the task role) is not authorized to perform "
                                     "ssmmessages:OpenDataChannel");
}

TEST(ExecAgentRules, AReadOnlyRootBlocksTheAgentOnlyWhenSessionsAreLogged) {
  ExecAgentFacts f = working_fargate_task();
  f.read_only_root = true;
  EXPECT_TRUE(as_aws(f).connects);  // logging off: nothing to write

  f.session_logging = true;
  expect_running_but_not_connected(as_aws(f));
  EXPECT_EQ(explained(f).reason,
            "The ExecuteCommandAgent cannot write its session logs: read-only file system");
}

TEST(ExecAgentRules, WithoutARouteOrEndpointTheAgentRunsButNeverConnects) {
  ExecAgentFacts f = working_fargate_task();
  f.route_out = false;
  // The agent keeps retrying: RUNNING without a reason even when failures are explained.
  expect_running_but_not_connected(as_aws(f));
  expect_running_but_not_connected(explained(f));

  // An ssmmessages interface endpoint (private DNS) in the VPC is enough.
  f.ssmmessages_endpoint = true;
  EXPECT_TRUE(as_aws(f).connects);
}

TEST(ExecAgentRules, FargatePlatformsBefore140RunNoAgent) {
  ExecAgentFacts f = working_fargate_task();
  f.platform.platform_version = "1.3.0";
  auto aws = as_aws(f);
  EXPECT_FALSE(aws.listed);  // AWS lists no managed agent at all
  EXPECT_FALSE(aws.connects);
  auto d = explained(f);
  EXPECT_TRUE(d.listed);
  EXPECT_EQ(d.status, AgentStatus::stopped);
  EXPECT_EQ(d.reason, "Platform version 1.3.0 does not support ECS Exec (1.4.0 or later needed)");
}

TEST(ExecAgentRules, Ec2AgentsBefore1502RunNoAgent) {
  // Versions compare as numbers: 1.9.0 is older than 1.50.2.
  for (const char* old : {"1.50.1", "1.9.0", "1.49.0"}) {
    EXPECT_FALSE(as_aws(working_ec2_task(old)).listed) << old;
    EXPECT_EQ(
        explained(working_ec2_task(old)).reason,
        "ECS agent " + std::string(old) + " does not support ECS Exec (1.50.2 or later needed)");
  }
  for (const char* recent : {"1.50.2", "1.51.0", "1.80.0"}) {
    EXPECT_TRUE(as_aws(working_ec2_task(recent)).connects) << recent;
  }
}

TEST(ExecAgentRules, AnInstanceWithoutTheExecBinariesRunsNoAgent) {
  // A recent ECS agent on an AMI without /var/lib/ecs/deps/execute-command: no agent at all.
  ExecAgentFacts f = working_ec2_task("1.80.0");
  f.platform.instance_has_exec_binaries = false;
  EXPECT_FALSE(as_aws(f).listed);
  EXPECT_FALSE(as_aws(f).connects);
  EXPECT_NE(as_aws(f).problem.find("no ECS Exec binaries"), std::string::npos);
  EXPECT_EQ(explained(f).status, AgentStatus::stopped);
  // Fargate has no container instance: the flag does not apply.
  ExecAgentFacts fargate = working_fargate_task();
  fargate.platform.instance_has_exec_binaries = false;
  EXPECT_TRUE(as_aws(fargate).connects);
}

TEST(ExecAgentRules, AnInstanceOffersExecFrom1502WithTheBinaries) {
  EXPECT_TRUE(instance_offers_exec("1.50.2", true));
  EXPECT_TRUE(instance_offers_exec("1.80.0", true));
  EXPECT_FALSE(instance_offers_exec("1.49.0", true));
  EXPECT_FALSE(instance_offers_exec("1.9.0", true));
  EXPECT_FALSE(instance_offers_exec("1.80.0", false));
}

TEST(ExecAgentRules, WithASharedPidNamespaceOnlyOneContainersAgentConnects) {
  // pidMode task: the agent holding the namespace is in "app"; the sidecar's shows RUNNING, as
  // AWS shows it, and ExecuteCommand into it fails.
  ExecAgentFacts other = working_fargate_task();
  other.pid_namespace_agent_in = "app";
  expect_running_but_not_connected(as_aws(other));
  EXPECT_NE(as_aws(other).problem.find("container app"), std::string::npos);
  EXPECT_EQ(explained(other).status, AgentStatus::stopped);
  EXPECT_NE(explained(other).reason.find("pidMode task"), std::string::npos);
  // The holder itself connects.
  EXPECT_TRUE(as_aws(working_fargate_task()).connects);
}

TEST(ExecAgentRules, AnUnsupportedPlatformIsReportedBeforeCredentials) {
  ExecAgentFacts f = working_ec2_task("1.40.0");
  f.credentials.task_role_arn.clear();
  EXPECT_EQ(explained(f).reason,
            "ECS agent 1.40.0 does not support ECS Exec (1.50.2 or later needed)");
}

}  // namespace
}  // namespace ecsh::sandbox::ecs
