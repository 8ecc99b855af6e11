#include "ecsh/doctor/checks.hpp"

#include "ecsh/common/version.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace ecsh::doctor {
namespace {

Permission perm(std::string action, std::string decision, std::string resource = "*") {
  Permission p;
  p.action = std::move(action);
  p.resource = std::move(resource);
  p.decision = std::move(decision);
  return p;
}

// A world where exec works: Fargate 1.4.0 service task, flags on, role allowed, route out.
Facts healthy() {
  Facts f;
  f.region = "us-east-1";
  f.caller_arn = "arn:aws:iam::000000000000:user/dev";
  f.caller_policy_source = f.caller_arn;
  f.caller_execute_command = perm("ecs:ExecuteCommand", "allowed", "arn:task");
  f.cluster_arn = "arn:aws:ecs:us-east-1:000000000000:cluster/demo";
  f.cluster_name = "demo";
  f.cluster_status = ecs::ClusterStatus::active;
  ecs::ServiceView s;
  s.name = "web";
  s.enable_execute_command = true;
  s.desired_count = s.running_count = 1;
  f.service = s;
  ecs::TaskView t;
  t.arn = "arn:task";
  t.id = "0123";
  t.group = "service:web";
  t.last_status = ecs::TaskStatus::running;
  t.launch_type = "FARGATE";
  t.platform_version = "1.4.0";
  t.enable_execute_command = true;
  ecs::ContainerView c;
  c.name = "web";
  c.exec_agent_status = ecs::AgentStatus::running;
  t.containers.push_back(c);
  f.task = t;
  f.service_tasks = {t};
  f.role_arn = "arn:aws:iam::000000000000:role/web-task-role";
  f.role_source = "task role";
  for (const char* a : {"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                        "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"}) {
    f.role_permissions.push_back(perm(a, "allowed"));
  }
  ContainerDefinitionFacts d;
  d.name = "web";
  d.init_process_enabled = true;
  f.container_definitions.push_back(d);
  f.subnet_id = "subnet-1";
  f.vpc_id = "vpc-1";
  f.ssmmessages_endpoint = false;
  f.route_out = true;
  return f;
}

const Check* find(const std::vector<Check>& checks, const std::string& id) {
  for (const auto& c : checks) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

std::vector<std::string> failed(const std::vector<Check>& checks) {
  std::vector<std::string> ids;
  for (const auto& c : checks) {
    if (c.status == Status::fail) ids.push_back(c.id);
  }
  return ids;
}

TEST(Doctor, AHealthyTargetIsGreen) {
  auto checks = evaluate(healthy());
  EXPECT_TRUE(exec_ready(checks));
  EXPECT_TRUE(failed(checks).empty());
}

TEST(Doctor, ServiceEnabledButTasksStartedBeforeSaysRedeployNeeded) {
  auto f = healthy();
  f.task->enable_execute_command = false;
  f.service_tasks[0].enable_execute_command = false;
  auto checks = evaluate(f);
  EXPECT_FALSE(exec_ready(checks));
  auto* c = find(checks, "service.redeploy_needed");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, Status::fail);
  EXPECT_NE(c->detail.find("redeploy needed"), std::string::npos);
  EXPECT_TRUE(c->fixable_by_enable);
  EXPECT_EQ(find(checks, "task.exec_enabled")->status, Status::fail);
}

TEST(Doctor, ServiceFlagOffIsFixableByEnable) {
  auto f = healthy();
  f.service->enable_execute_command = false;
  f.task->enable_execute_command = false;
  f.service_tasks[0].enable_execute_command = false;
  auto checks = evaluate(f);
  auto* c = find(checks, "service.exec_enabled");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, Status::fail);
  EXPECT_TRUE(c->fixable_by_enable);
  EXPECT_EQ(find(checks, "service.redeploy_needed"), nullptr)
      << "no redeploy complaint while the service itself is off";
}

TEST(Doctor, TaskRoleWithoutSsmmessagesIsFixableButAnExplicitDenyIsNot) {
  auto f = healthy();
  f.role_permissions[1].decision = "implicitDeny";
  auto c = *find(evaluate(f), "task.role_ssmmessages");
  EXPECT_EQ(c.status, Status::fail);
  EXPECT_NE(c.detail.find("ssmmessages:CreateDataChannel"), std::string::npos);
  EXPECT_TRUE(c.fixable_by_enable);
  f.role_permissions[1].decision = "explicitDeny";
  c = *find(evaluate(f), "task.role_ssmmessages");
  EXPECT_EQ(c.status, Status::fail);
  EXPECT_FALSE(c.fixable_by_enable);
}

TEST(Doctor, CallerDeniedIsNeverFixedByEnable) {
  auto f = healthy();
  f.caller_execute_command.decision = "explicitDeny";
  auto c = *find(evaluate(f), "caller.execute_command");
  EXPECT_EQ(c.status, Status::fail);
  EXPECT_FALSE(c.fixable_by_enable);
  EXPECT_NE(c.detail.find("explicit Deny"), std::string::npos);
}

TEST(Doctor, WhatCannotBeCheckedIsUnknownNeverGreen) {
  auto f = healthy();
  f.caller_execute_command.decision.clear();
  f.caller_execute_command.unknown_reason = "AccessDenied: not allowed iam:SimulatePrincipalPolicy";
  for (auto& p : f.role_permissions) p.decision.clear();
  f.role_unknown_reason = "AccessDenied";
  f.route_out.reset();
  f.ssmmessages_endpoint.reset();
  f.network_unknown_reason = "AccessDenied";
  auto checks = evaluate(f);
  EXPECT_EQ(find(checks, "caller.execute_command")->status, Status::unknown);
  EXPECT_EQ(find(checks, "task.role_ssmmessages")->status, Status::unknown);
  EXPECT_EQ(find(checks, "network.ssmmessages")->status, Status::unknown);
  EXPECT_NE(find(checks, "caller.execute_command")->fix.find("iam:SimulatePrincipalPolicy"),
            std::string::npos);
}

TEST(Doctor, AgentAndPlatformVersions) {
  auto f = healthy();
  f.task->platform_version = "1.3.0";
  EXPECT_EQ(find(evaluate(f), "task.platform_version")->status, Status::fail);
  f.task->platform_version = "LATEST";
  EXPECT_EQ(find(evaluate(f), "task.platform_version")->status, Status::ok);
  f.task->launch_type = "EC2";
  f.agent_version = "1.50.1";
  f.ec2_instance_id = "i-1";
  EXPECT_EQ(find(evaluate(f), "task.agent_version")->status, Status::fail);
  f.agent_version = "1.51.0";
  EXPECT_EQ(find(evaluate(f), "task.agent_version")->status, Status::ok);
  EXPECT_LT(compare_versions("1.9.0", "1.10.0"), 0);
  EXPECT_EQ(compare_versions("1.4", "1.4.0"), 0);
}

TEST(Doctor, NoEndpointAndNoRouteBlocksExec) {
  auto f = healthy();
  f.route_out = false;
  auto c = *find(evaluate(f), "network.ssmmessages");
  EXPECT_EQ(c.status, Status::fail);
  EXPECT_NE(c.fix.find("com.amazonaws.us-east-1.ssmmessages"), std::string::npos);
  f.ssmmessages_endpoint = true;
  EXPECT_EQ(find(evaluate(f), "network.ssmmessages")->status, Status::ok);
}

TEST(Doctor, StoppedTaskShowsItsReason) {
  auto f = healthy();
  f.task->last_status = ecs::TaskStatus::stopped;
  f.task->stopped_reason = "Essential container in task exited";
  auto c = *find(evaluate(f), "task.status");
  EXPECT_EQ(c.status, Status::fail);
  EXPECT_NE(c.detail.find("Essential container in task exited"), std::string::npos);
}

TEST(Doctor, ReadOnlyRootFailsOnlyWithSessionLogging) {
  auto f = healthy();
  f.container_definitions[0].read_only_root = true;
  EXPECT_EQ(find(evaluate(f), "container.read_only_root")->status, Status::info);
  f.logging = "DEFAULT";
  EXPECT_EQ(find(evaluate(f), "container.read_only_root")->status, Status::fail);
}

TEST(Doctor, SidecarsWithoutAnAgentAreNotFailures) {
  auto f = healthy();
  ecs::ContainerView guard;
  guard.name = "aws-guardduty-agent-abc";
  f.task->containers.push_back(guard);
  auto checks = evaluate(f);
  EXPECT_TRUE(exec_ready(checks));
  f.task->containers[0].exec_agent_status = ecs::AgentStatus::stopped;
  EXPECT_FALSE(exec_ready(evaluate(f)));
}

TEST(Doctor, KmsNeedsTheCallerToGenerateAndTheRoleToDecrypt) {
  auto f = healthy();
  f.kms_key_id = "arn:aws:kms:us-east-1:000000000000:key/k";
  f.kms_key_usable = true;
  f.caller_generate_data_key = perm("kms:GenerateDataKey", "implicitDeny", f.kms_key_id);
  f.role_permissions.push_back(perm("kms:Decrypt", "implicitDeny", f.kms_key_id));
  auto checks = evaluate(f);
  EXPECT_EQ(find(checks, "caller.kms_generate_data_key")->status, Status::fail);
  auto* d = find(checks, "task.role_kms_decrypt");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->status, Status::fail);
  EXPECT_TRUE(d->fixable_by_enable);
}

TEST(Doctor, NoExecAgentInAnyContainerIsAFailure) {
  // AWS lists no managed agent when the ECS agent or platform cannot run ECS Exec.
  auto f = healthy();
  f.task->platform_version = "1.3.0";
  f.task->containers[0].exec_agent_status.reset();
  auto checks = evaluate(f);
  EXPECT_EQ(find(checks, "container.exec_agent")->status, Status::fail);
  EXPECT_EQ(find(checks, "task.platform_version")->status, Status::fail);
}

TEST(Doctor, AnInstanceWithoutTheExecCapabilityFailsWithARecentAgent) {
  // A recent ECS agent on an AMI without the ECS Exec binaries: no attribute, no agent.
  auto f = healthy();
  f.task->launch_type = "EC2";
  f.agent_version = "1.80.0";
  f.ec2_instance_id = "i-1";
  f.instance_exec_capability = true;
  EXPECT_EQ(find(evaluate(f), "task.instance_exec_capability")->status, Status::ok);
  f.instance_exec_capability = false;
  f.task->containers[0].exec_agent_status.reset();
  auto checks = evaluate(f);
  auto* c = find(checks, "task.instance_exec_capability");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, Status::fail);
  EXPECT_NE(c->detail.find("ecs.capability.execute-command"), std::string::npos);
  EXPECT_NE(c->fix.find("ECS-optimized AMI"), std::string::npos);
  EXPECT_FALSE(c->fixable_by_enable);
  EXPECT_EQ(find(checks, "task.agent_version")->status, Status::ok);
  EXPECT_FALSE(exec_ready(checks));
  // An old agent is the one cause named; the capability is not judged on top of it.
  f.agent_version = "1.49.0";
  EXPECT_EQ(find(evaluate(f), "task.instance_exec_capability"), nullptr);
}

TEST(Doctor, ASharedPidNamespaceWithSeveralAgentsCannotBeDecided) {
  auto f = healthy();
  f.pid_mode = "task";
  EXPECT_EQ(find(evaluate(f), "task.pid_mode")->status, Status::info);  // one container: fine
  ecs::ContainerView sidecar;
  sidecar.name = "log-shipper";
  sidecar.exec_agent_status = ecs::AgentStatus::running;
  f.task->containers.push_back(sidecar);
  auto checks = evaluate(f);
  auto* c = find(checks, "task.pid_mode");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, Status::unknown);
  EXPECT_NE(c->detail.find("TargetNotConnectedException"), std::string::npos);
  EXPECT_NE(c->fix.find("-n NAME"), std::string::npos);
  EXPECT_TRUE(exec_ready(checks));  // one container does work
  f.pid_mode = "";
  EXPECT_EQ(find(evaluate(f), "task.pid_mode"), nullptr);
}

TEST(Doctor, KeysInTheEnvironmentAreNamedButNeverBlockExec) {
  // The SSM agent of ECS Exec ignores them since 3.1.1260.0 (checked against the real agent):
  // the checker's warning would be a false failure here.
  auto f = healthy();
  f.container_definitions[0].credential_env = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"};
  f.container_definitions[0].credential_secrets = {"AWS_SESSION_TOKEN"};
  auto checks = evaluate(f);
  EXPECT_TRUE(exec_ready(checks));
  EXPECT_TRUE(failed(checks).empty());
  auto c = *find(checks, "container.credential_env");
  EXPECT_EQ(c.status, Status::info);
  EXPECT_NE(c.detail.find("AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (from "
                          "secrets) set in container web"),
            std::string::npos)
      << c.detail;
  EXPECT_NE(c.detail.find("ignores them and uses the task role"), std::string::npos);
  EXPECT_TRUE(c.fix.empty());

  f.container_definitions[0].credential_env.clear();
  f.container_definitions[0].credential_secrets.clear();
  EXPECT_EQ(find(evaluate(f), "container.credential_env"), nullptr);
}

// This machine's side: the stream endpoint, the clock, the credentials' end.
TEST(Doctor, ThisMachinesSideIsCheckedOnlyWhenGathered) {
  auto checks = evaluate(healthy());
  EXPECT_EQ(find(checks, "client.stream_reachable"), nullptr);  // doctor --all: not gathered
  Facts f = healthy();
  f.client_gathered = true;
  f.stream_host = "ssmmessages.us-east-1.amazonaws.com";
  f.clock_skew = std::chrono::seconds(3);
  checks = evaluate(f);
  ASSERT_NE(find(checks, "client.stream_reachable"), nullptr);
  EXPECT_EQ(find(checks, "client.stream_reachable")->status, Status::ok);
  EXPECT_EQ(find(checks, "client.clock")->status, Status::ok);
  EXPECT_EQ(find(checks, "client.credentials_lifetime")->status, Status::ok);
  EXPECT_TRUE(exec_ready(checks));
}

TEST(Doctor, AnUnreachableStreamEndpointBlocksWithWhatToCheck) {
  Facts f = healthy();
  f.client_gathered = true;
  f.stream_host = "ssmmessages.us-east-1.amazonaws.com";
  f.stream_via = "through proxy proxy.corp:3128";
  f.stream_error = "the proxy refused CONNECT (403)";
  auto checks = evaluate(f);
  const Check* c = find(checks, "client.stream_reachable");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, Status::fail);
  EXPECT_EQ(c->group, "client");
  EXPECT_NE(c->title.find("through proxy proxy.corp:3128"), std::string::npos);
  EXPECT_NE(c->fix.find("HTTPS_PROXY"), std::string::npos);
  EXPECT_FALSE(exec_ready(checks));
}

TEST(Doctor, ClockSkewIsToldNotBlocking) {
  Facts f = healthy();
  f.client_gathered = true;
  f.stream_host = "h";
  f.clock_skew = std::chrono::minutes(-7);  // AWS's clock is behind: this machine is ahead
  auto checks = evaluate(f);
  const Check* c = find(checks, "client.clock");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, Status::info);
  EXPECT_EQ(c->title, "this machine's clock is 7 min ahead of AWS's");
  EXPECT_TRUE(exec_ready(checks));
}

TEST(Doctor, CredentialsThatEndSoonAreToldExpiredOnesBlock) {
  Facts f = healthy();
  f.client_gathered = true;
  f.stream_host = "h";
  f.credentials_expire = true;
  f.credentials_source = "profile dev (assume role)";
  f.credentials_left = std::chrono::minutes(14) + std::chrono::seconds(30);
  auto soon = evaluate(f);
  const Check* c = find(soon, "client.credentials_lifetime");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, Status::info);
  EXPECT_EQ(c->title, "credentials last 14 min more (profile dev (assume role))");
  EXPECT_NE(c->detail.find("cannot resume a dropped link"), std::string::npos);
  f.credentials_left = std::chrono::hours(11) + std::chrono::minutes(5);
  auto later = evaluate(f);
  EXPECT_EQ(find(later, "client.credentials_lifetime")->status, Status::ok);
  f.credentials_left = std::chrono::seconds(-1);
  auto checks = evaluate(f);
  EXPECT_EQ(find(checks, "client.credentials_lifetime")->status, Status::fail);
  EXPECT_FALSE(exec_ready(checks));
}

}  // namespace
}  // namespace ecsh::doctor
