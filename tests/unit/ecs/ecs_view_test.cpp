// The typed ECS views: what they read from Describe responses, and that a malformed response (a
// field of the wrong type, a required field missing) is a protocol error naming the field, also
// when it arrives through the API calls, never an exception.

#include "ecsh/ecs/ecs_view.hpp"
#include "ecsh/ecs/target.hpp"

#include "unit/fake_aws.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

using namespace ecsh;
namespace json = boost::json;

namespace {

json::object doc(const char* text) { return json::parse(text).as_object(); }

std::string protocol_error(const Error& e) {
  EXPECT_EQ(e.kind, ErrorKind::protocol);
  EXPECT_EQ(exit_code_for(e), 255);
  return e.message;
}

constexpr const char* kTasks = R"({"tasks": [{
  "taskArn": "arn:aws:ecs:us-east-1:000000000000:task/prod/0123456789abcdef0123456789abcdef",
  "clusterArn": "arn:aws:ecs:us-east-1:000000000000:cluster/prod", "lastStatus": "STOPPED",
  "group": "service:web", "launchType": "FARGATE", "enableExecuteCommand": true,
  "startedAt": 1764000000.5, "stoppedAt": 1764000100, "overrides": {"taskRoleArn": "arn:role"},
  "attachments": [{"details": [{"name": "subnetId", "value": "subnet-1"}]}],
  "containers": [{"name": "app", "runtimeId": "rt-1", "exitCode": 137, "reason": "OOM",
                  "managedAgents": [{"name": "ExecuteCommandAgent", "lastStatus": "RUNNING"}]},
                 {"name": "sidecar"}]}], "failures": []})";

}  // namespace

TEST(EcsViews, ADescribeTasksResponseIsRead) {
  auto tasks = ecs::parse_describe_tasks(doc(kTasks));
  ASSERT_TRUE(tasks) << tasks.error().message;
  ASSERT_EQ(tasks.value().size(), 1u);
  const auto& t = tasks.value()[0];
  EXPECT_EQ(t.id, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(t.service_name(), "web");
  EXPECT_TRUE(t.enable_execute_command);
  EXPECT_EQ(t.started_at, 1764000000.5);
  EXPECT_EQ(t.stopped_at, 1764000100.0);
  EXPECT_EQ(t.override_task_role_arn, "arn:role");
  EXPECT_EQ(t.subnet_id, "subnet-1");
  ASSERT_EQ(t.containers.size(), 2u);
  EXPECT_EQ(t.containers[0].exit_code, 137);
  EXPECT_EQ(t.containers[0].exec_agent_status, ecs::AgentStatus::running);
  EXPECT_EQ(t.containers[1].exit_code, std::nullopt);
  EXPECT_EQ(t.containers[1].exec_agent_status, std::nullopt);
}

TEST(EcsViews, AMalformedTaskIsAProtocolErrorNamingTheField) {
  struct Case {
    const char* body;
    const char* message;
  } cases[] = {
      {R"({"tasks": [{"taskArn": "a", "containers": [{"name": "c", "exitCode": "137"}]}]})",
       "the DescribeTasks response: tasks[0].containers[0].exitCode is a string, not an integer"},
      {R"({"tasks": [{"taskArn": "a"}, {"lastStatus": "RUNNING"}]})",
       "the DescribeTasks response: tasks[1].taskArn is missing"},
      {R"({"tasks": [{"taskArn": 5}]})",
       "the DescribeTasks response: tasks[0].taskArn is an integer, not a string"},
      {R"({"tasks": [{"taskArn": "a", "containers": [{"runtimeId": "r"}]}]})",
       "the DescribeTasks response: tasks[0].containers[0].name is missing"},
      {R"({"tasks": [{"taskArn": "a", "startedAt": "yesterday"}]})",
       "the DescribeTasks response: tasks[0].startedAt is a string, not a number"},
      {R"({"tasks": [{"taskArn": "a", "enableExecuteCommand": "true"}]})",
       "the DescribeTasks response: tasks[0].enableExecuteCommand is a string, not a boolean"},
      {R"({"tasks": [{"taskArn": "a", "attachments": [{"details": {"name": "subnetId"}}]}]})",
       "the DescribeTasks response: tasks[0].attachments[0].details is an object, not an array"},
      {R"({"tasks": {"taskArn": "a"}})",
       "the DescribeTasks response: tasks is an object, not an array"},
      {R"({"tasks": ["arn:a"]})",
       "the DescribeTasks response: tasks[0] is a string, not an object"},
  };
  for (const auto& c : cases) {
    auto r = ecs::parse_describe_tasks(doc(c.body));
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(protocol_error(r.error()), c.message);
  }
}

TEST(EcsViews, ServicesAreReadAndAMalformedOneIsAProtocolError) {
  auto ok = ecs::parse_describe_services(doc(R"({"services": [{"serviceName": "web",
      "desiredCount": 2, "runningCount": 1, "deployments": [{"id": "d1", "failedTasks": 3}],
      "events": [{"id": "e1", "message": "m", "createdAt": 1.5}],
      "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true}}}]})"));
  ASSERT_TRUE(ok) << ok.error().message;
  const auto& s = ok.value().at(0);
  EXPECT_EQ(s.desired_count, 2);
  EXPECT_EQ(s.deployments.at(0).failed, 3);
  EXPECT_EQ(s.events.at(0).created_at, 1.5);
  EXPECT_TRUE(s.circuit_breaker);
  EXPECT_FALSE(s.rollback);

  auto bad = ecs::parse_describe_services(
      doc(R"({"services": [{"serviceName": "web", "deployments": [{"runningCount": "1"}]}]})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(protocol_error(bad.error()),
            "the DescribeServices response: services[0].deployments[0].runningCount is a string, "
            "not an integer");
  auto huge = ecs::parse_describe_services(
      doc(R"({"services": [{"serviceName": "web", "desiredCount": 99999999999}]})"));
  ASSERT_FALSE(huge);
  EXPECT_EQ(protocol_error(huge.error()),
            "the DescribeServices response: services[0].desiredCount is out of range");
}

TEST(EcsViews, ClustersAreReadAndAMalformedOneIsAProtocolError) {
  auto ok = ecs::parse_describe_clusters(doc(R"({"clusters": [{"clusterArn": "arn:c",
      "status": "ACTIVE", "runningTasksCount": 4, "configuration": {"executeCommandConfiguration":
      {"kmsKeyId": "arn:key/k1", "logging": "OVERRIDE", "logConfiguration":
      {"cloudWatchLogGroupName": "/exec", "s3BucketName": "b"}}}}]})"));
  ASSERT_TRUE(ok) << ok.error().message;
  const auto& c = ok.value().at(0);
  EXPECT_EQ(c.running_tasks, 4);
  EXPECT_EQ(c.exec_kms_key_id, "arn:key/k1");
  EXPECT_EQ(c.exec_logging, "OVERRIDE");
  EXPECT_EQ(c.exec_log_group, "/exec");
  EXPECT_EQ(c.exec_s3_bucket, "b");

  auto bad = ecs::parse_describe_clusters(doc(R"({"clusters": [{"configuration":
      {"executeCommandConfiguration": {"logging": ["DEFAULT"]}}}]})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(protocol_error(bad.error()),
            "the DescribeClusters response: clusters[0].configuration.executeCommandConfiguration."
            "logging is an array, not a string");
}

TEST(EcsViews, ContainerInstancesAreReadAndAMalformedOneIsAProtocolError) {
  auto ok = ecs::parse_describe_container_instances(doc(R"({"containerInstances": [{
      "ec2InstanceId": "i-1", "versionInfo": {"agentVersion": "1.80.0"},
      "attributes": [{"name": "ecs.subnet-id", "value": "subnet-1"}, {"name": "flag"}]}]})"));
  ASSERT_TRUE(ok) << ok.error().message;
  const auto& i = ok.value().at(0);
  EXPECT_EQ(i.ec2_instance_id, "i-1");
  EXPECT_EQ(i.agent_version, "1.80.0");
  ASSERT_EQ(i.attributes.size(), 2u);
  EXPECT_EQ(i.attributes[1], (std::pair<std::string, std::string>{"flag", ""}));

  auto bad = ecs::parse_describe_container_instances(
      doc(R"({"containerInstances": [{"ec2InstanceId": ["i-1"]}]})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(protocol_error(bad.error()),
            "the DescribeContainerInstances response: containerInstances[0].ec2InstanceId is an "
            "array, not a string");
}

// Through the API: ECS answers DescribeTasks with a task whose containers are not an array.
TEST(EcsViews, AMalformedReplyThroughTheApiIsAProtocolErrorNotAnException) {
  fake::FakeAwsClient f;
  f.aws.answer("DescribeTasks",
               R"({"tasks": [{"taskArn": "arn:t1", "containers": {"name": "a"}}]})");
  f.aws.answer("ListTasks", R"({"taskArns": ["arn:aws:ecs:us-east-1:0:task/prod/t1", 42]})");
  const std::string cluster = "prod";
  const std::vector<std::string> arns{"arn:t1"};
  auto tasks = fake::run(ecs::describe_tasks(*f.client, cluster, arns));
  ASSERT_FALSE(tasks);
  EXPECT_EQ(protocol_error(tasks.error()),
            "the DescribeTasks response: tasks[0].containers is an object, not an array");

  const std::string service;
  auto listed =
      fake::run(ecs::list_task_arns(*f.client, cluster, service, ecs::TaskStatus::running));
  ASSERT_FALSE(listed);
  EXPECT_EQ(protocol_error(listed.error()),
            "the ListTasks response: taskArns[1] is an integer, not a string");

  ecs::TargetSpec spec;
  spec.cluster = "prod";
  spec.task = "arn:t1";
  ecs::Picker no_picker;
  auto target = fake::run(ecs::resolve_target(*f.client, spec, no_picker));
  ASSERT_FALSE(target);
  EXPECT_EQ(protocol_error(target.error()),
            "the DescribeTasks response: tasks[0].containers is an object, not an array");

  f.aws.answer("DescribeClusters", R"({"clusters": [{"runningTasksCount": "4"}]})");
  auto cluster_view = fake::run(ecs::describe_cluster(*f.client, cluster));
  ASSERT_FALSE(cluster_view);
  EXPECT_EQ(protocol_error(cluster_view.error()),
            "the DescribeClusters response: clusters[0].runningTasksCount is a string, not an "
            "integer");
}
