// `ecsh exec --via auto`: which failures of ECS Exec lead to offering the container instance
// (Method 2), with the reason the user is shown, and which are reported as they are.

#include "ecsh/connect/via.hpp"

#include <gtest/gtest.h>

namespace ecsh::connect {
namespace {

// A task of the EC2 launch type, exec enabled, its agent RUNNING.
ecs::ResolvedTarget ec2_target() {
  ecs::ResolvedTarget t;
  t.cluster_name = "demo";
  t.task.id = "0123";
  t.task.launch_type = "EC2";
  t.task.container_instance_arn = "arn:aws:ecs:us-east-1:000000000000:container-instance/demo/c1";
  t.task.enable_execute_command = true;
  t.task.last_status = ecs::TaskStatus::running;
  t.container.name = "app";
  t.container.exec_agent_status = ecs::AgentStatus::running;
  t.task.containers.push_back(t.container);
  return t;
}

Error service_error(std::string code, std::string message) {
  Error e;
  e.kind = ErrorKind::service;
  e.code = std::move(code);
  e.message = std::move(message);
  return e;
}

const Error kNotConnected = service_error(
    "TargetNotConnectedException",
    "An error occurred (TargetNotConnectedException) when calling the ExecuteCommand operation: "
    "The execute command failed due to an internal error. Try again later.");

TEST(ExecVia, NamesOfTheOption) {
  EXPECT_EQ(parse_via("auto"), Via::automatic);
  EXPECT_EQ(parse_via("ecs"), Via::ecs);
  EXPECT_EQ(parse_via("ec2"), Via::ec2);
  EXPECT_FALSE(parse_via("ssh"));
}

TEST(ExecVia, AnUnreachableAgentOnEc2OffersTheInstanceWithAwssOwnWords) {
  auto why = instance_fallback(Via::automatic, ec2_target(), kNotConnected);
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, kNotConnected.message);
}

TEST(ExecVia, ATaskStartedWithoutExecSaysOnlyANewTaskCanChangeThat) {
  auto t = ec2_target();
  t.task.enable_execute_command = false;
  t.container.exec_agent_status.reset();
  t.task.containers = {t.container};
  auto e = service_error("InvalidParameterException",
                         "The execute command failed because execute command was not enabled "
                         "when the task was run");
  auto why = instance_fallback(Via::automatic, t, e);
  ASSERT_TRUE(why);
  EXPECT_EQ(*why,
            "task 0123 was started without enableExecuteCommand, and that cannot change while it "
            "runs (only a new deployment, `ecsh enable`, brings tasks that accept ECS Exec)");
}

TEST(ExecVia, AStoppedAgentIsNamedWithItsReason) {
  auto t = ec2_target();
  t.container.exec_agent_status = ecs::AgentStatus::stopped;
  t.container.exec_agent_reason = "could not connect";
  t.task.containers = {t.container};
  auto why = instance_fallback(Via::automatic, t, kNotConnected);
  ASSERT_TRUE(why);
  EXPECT_EQ(*why,
            "the ExecuteCommandAgent of container app is STOPPED: could not connect (`ecsh doctor` "
            "says why)");
}

TEST(ExecVia, FargateHasNoInstanceToOffer) {
  auto t = ec2_target();
  t.task.launch_type = "FARGATE";
  t.task.container_instance_arn.clear();
  EXPECT_FALSE(instance_fallback(Via::automatic, t, kNotConnected));
}

TEST(ExecVia, OnlyAutoFallsBack) {
  EXPECT_FALSE(instance_fallback(Via::ecs, ec2_target(), kNotConnected));
}

TEST(ExecVia, FailuresThatAreNotRefusalsAreReportedAsTheyAre) {
  // Waiting, retrying or fixing permissions may help these; the instance is not offered.
  for (const Error& e :
       {service_error("ThrottlingException", "Rate exceeded"),
        service_error("AccessDeniedException", "not authorized to perform ecs:ExecuteCommand"),
        Error::connection("could not connect to ssmmessages"),
        Error::usage("no running task in service web")}) {
    EXPECT_FALSE(instance_fallback(Via::automatic, ec2_target(), e)) << e.message;
    EXPECT_FALSE(ecs_exec_refused(e)) << e.message;
  }
  EXPECT_TRUE(ecs_exec_refused(kNotConnected));
}

}  // namespace
}  // namespace ecsh::connect
