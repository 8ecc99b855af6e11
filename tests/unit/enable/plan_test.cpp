// Which changes `ecsh enable` plans for which facts: built by hand as in checks_test.cpp, judged by
// doctor::evaluate, then planned, as `ecsh enable` does.

#include "ecsh/enable/plan.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace ecsh::enable {
namespace {

using doctor::ContainerDefinitionFacts;
using doctor::Facts;
using doctor::Permission;

Permission perm(std::string action, std::string decision, std::string resource = "*") {
  Permission p;
  p.action = std::move(action);
  p.resource = std::move(resource);
  p.decision = std::move(decision);
  return p;
}

// A world where exec works: a Fargate 1.4.0 task of service web, flags on, role allowed, route
// out.
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
  f.role_arn = "arn:aws:iam::000000000000:role/app/web-task-role";
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

EnablePlan plan_for(const Facts& f, const std::string& service = "web") {
  return plan_enable(service, f, doctor::evaluate(f));
}

std::vector<std::string> ids(const std::vector<doctor::Check>& checks) {
  std::vector<std::string> out;
  for (const auto& c : checks) out.push_back(c.id);
  return out;
}

// The Action of each statement of the policy, as one string each ("a,b" for a list).
std::vector<std::string> statement_actions(const boost::json::object& policy) {
  std::vector<std::string> out;
  for (const auto& s : policy.at("Statement").as_array()) {
    const auto& action = s.as_object().at("Action");
    if (action.is_string()) {
      out.emplace_back(action.as_string());
      continue;
    }
    std::string joined;
    for (const auto& a : action.as_array()) {
      joined += (joined.empty() ? "" : ",") + std::string(a.as_string());
    }
    out.push_back(joined);
  }
  return out;
}

const std::string kChannelActions =
    "ssmmessages:CreateControlChannel,ssmmessages:CreateDataChannel,"
    "ssmmessages:OpenControlChannel,ssmmessages:OpenDataChannel";

void service_exec_disabled(Facts& f) {
  f.service->enable_execute_command = false;
  f.task->enable_execute_command = false;
  f.service_tasks[0].enable_execute_command = false;
}

TEST(EnablePlan, AHealthyTargetNeedsNothing) {
  auto plan = plan_for(healthy());
  EXPECT_TRUE(plan.empty());
  EXPECT_TRUE(plan.cannot_fix.empty());
}

TEST(EnablePlan, TheDemoWorldGetsThePolicyTheServiceFlagAndARedeploy) {
  // Exec disabled on the service, a task role without ssmmessages: what `ecsh demo` fixes.
  auto f = healthy();
  service_exec_disabled(f);
  for (auto& p : f.role_permissions) p.decision = "implicitDeny";
  auto plan = plan_for(f);
  EXPECT_EQ(plan.role_name, "web-task-role") << "the role's name, not its path";
  EXPECT_EQ(statement_actions(plan.policy), std::vector<std::string>{kChannelActions});
  EXPECT_EQ(plan.service, "web");
  EXPECT_TRUE(plan.enable_on_service);
  EXPECT_TRUE(plan.redeploy);
  EXPECT_TRUE(plan.cannot_fix.empty()) << testing::PrintToString(ids(plan.cannot_fix));
}

TEST(EnablePlan, TasksStartedBeforeTheFlagAreReplacedWithoutTouchingTheRole) {
  auto f = healthy();
  f.task->enable_execute_command = false;
  f.service_tasks[0].enable_execute_command = false;
  auto plan = plan_for(f);
  EXPECT_TRUE(plan.role_name.empty());
  EXPECT_FALSE(plan.enable_on_service) << "the service flag is already on";
  EXPECT_TRUE(plan.redeploy);
  EXPECT_TRUE(plan.cannot_fix.empty());
}

TEST(EnablePlan, ARoleMissingOneActionGetsThePolicyAndNewTasks) {
  auto f = healthy();
  f.role_permissions[2].decision = "implicitDeny";
  auto plan = plan_for(f);
  EXPECT_EQ(plan.role_name, "web-task-role");
  EXPECT_FALSE(plan.enable_on_service);
  EXPECT_TRUE(plan.redeploy);
}

TEST(EnablePlan, AnExplicitDenyOnTheRoleIsLeftToTheUser) {
  auto f = healthy();
  f.role_permissions[0].decision = "explicitDeny";
  auto plan = plan_for(f);
  EXPECT_TRUE(plan.empty()) << "a policy cannot override a Deny";
  EXPECT_EQ(ids(plan.cannot_fix), std::vector<std::string>{"task.role_ssmmessages"});
}

TEST(EnablePlan, YourOwnPermissionsAreNeverChanged) {
  auto f = healthy();
  f.caller_execute_command.decision = "implicitDeny";
  service_exec_disabled(f);
  auto plan = plan_for(f);
  EXPECT_TRUE(plan.enable_on_service) << "what enable can fix is still fixed";
  EXPECT_TRUE(plan.role_name.empty());
  EXPECT_EQ(ids(plan.cannot_fix), std::vector<std::string>{"caller.execute_command"});
}

TEST(EnablePlan, KmsAndSessionLoggingAddTheirStatementsToThePolicy) {
  auto f = healthy();
  f.kms_key_id = "arn:aws:kms:us-east-1:000000000000:key/k1";
  f.kms_key_usable = true;
  f.caller_generate_data_key = perm("kms:GenerateDataKey", "allowed", f.kms_key_id);
  f.logging = "OVERRIDE";
  f.log_group = "/ecs/exec";
  f.log_group_exists = true;
  f.role_permissions.push_back(perm("kms:Decrypt", "implicitDeny", f.kms_key_id));
  f.role_permissions.push_back(perm("logs:PutLogEvents", "implicitDeny"));
  auto plan = plan_for(f);
  EXPECT_EQ(plan.role_name, "web-task-role");
  EXPECT_EQ(statement_actions(plan.policy),
            (std::vector<std::string>{kChannelActions, "kms:Decrypt",
                                      "logs:DescribeLogGroups,logs:CreateLogStream,"
                                      "logs:DescribeLogStreams,logs:PutLogEvents"}));
  const auto& kms = plan.policy.at("Statement").as_array()[1].as_object();
  EXPECT_EQ(kms.at("Resource").as_string(), f.kms_key_id) << "only the cluster's exec key";
  EXPECT_TRUE(plan.redeploy);
  EXPECT_TRUE(plan.cannot_fix.empty()) << testing::PrintToString(ids(plan.cannot_fix));
}

TEST(EnablePlan, ThePolicyGrantsNoLogsActionsWhenLoggingIsOff) {
  auto f = healthy();
  f.logging = "NONE";
  f.log_group = "/ecs/exec";
  EXPECT_EQ(statement_actions(exec_policy_document(f)), std::vector<std::string>{kChannelActions});
}

TEST(EnablePlan, AStoppedAgentIsCuredByTheRedeployNotListedAsUnfixable) {
  auto f = healthy();
  f.task->containers[0].exec_agent_status = ecs::AgentStatus::stopped;
  f.task->containers[0].exec_agent_reason = "could not connect";
  auto plan = plan_for(f);
  EXPECT_TRUE(plan.redeploy);
  EXPECT_TRUE(plan.cannot_fix.empty()) << testing::PrintToString(ids(plan.cannot_fix));
}

TEST(EnablePlan, ATaskWithoutServiceIsNeverRedeployed) {
  // `ecsh enable -t TASK` on a task run by hand: nothing to update or redeploy, so its disabled
  // flag and stopped agent are listed as what enable cannot fix.
  auto f = healthy();
  f.service.reset();
  f.service_tasks.clear();
  f.task->group = "family:web";
  f.task->enable_execute_command = false;
  f.task->containers[0].exec_agent_status.reset();
  f.role_permissions[0].decision = "implicitDeny";
  auto plan = plan_for(f, "");
  EXPECT_EQ(plan.role_name, "web-task-role") << "the role is still fixed";
  EXPECT_FALSE(plan.enable_on_service);
  EXPECT_FALSE(plan.redeploy);
  EXPECT_EQ(ids(plan.cannot_fix), std::vector<std::string>{"task.exec_enabled"});
}

TEST(EnablePlan, NoRoleAtAllIsNotInvented) {
  auto f = healthy();
  f.role_arn.clear();
  f.role_permissions.clear();
  auto plan = plan_for(f);
  EXPECT_TRUE(plan.role_name.empty());
  EXPECT_EQ(ids(plan.cannot_fix), std::vector<std::string>{"task.role"});
}

TEST(EnablePlan, AnUnreachableNetworkStaysListedBesideTheFixes) {
  auto f = healthy();
  service_exec_disabled(f);
  f.route_out = false;
  auto plan = plan_for(f);
  EXPECT_TRUE(plan.enable_on_service);
  EXPECT_EQ(ids(plan.cannot_fix), std::vector<std::string>{"network.ssmmessages"});
}

}  // namespace
}  // namespace ecsh::enable
