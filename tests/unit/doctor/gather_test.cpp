// Gathering from replies that are malformed: the fact is "cannot tell" with a message naming the
// field (doctor's way with any fact it could not learn), never an exception.

#include "ecsh/doctor/gather.hpp"
#include "unit/fake_aws.hpp"

#include <gtest/gtest.h>

using namespace ecsh;

namespace {

constexpr const char* kClusterArn = "arn:aws:ecs:us-east-1:000000000000:cluster/prod";

doctor::Scope scope_of(std::optional<ecs::TaskView> task = std::nullopt) {
  doctor::Scope s;
  s.cluster_arn = kClusterArn;
  s.cluster_name = "prod";
  s.task = std::move(task);
  return s;
}

}  // namespace

TEST(DoctorGather, AMalformedDescribeClustersIsACannotTellNamingTheField) {
  fake::FakeAwsClient f;
  f.aws.answer(
      "DescribeClusters",
      R"({"clusters": [{"status": "ACTIVE", "configuration": {"executeCommandConfiguration":
                   {"kmsKeyId": {"arn": "k"}}}}]})");
  auto facts = fake::run(doctor::gather(*f.client, scope_of()));
  ASSERT_TRUE(facts) << facts.error().message;
  EXPECT_EQ(facts.value().cluster_unknown_reason,
            "the DescribeClusters response: clusters[0].configuration.executeCommandConfiguration."
            "kmsKeyId is an object, not a string");
}

TEST(DoctorGather, MalformedKeyTaskDefinitionAndContainerInstanceRepliesAreCannotTells) {
  fake::FakeAwsClient f;
  f.aws.answer(
      "DescribeClusters",
      R"({"clusters": [{"status": "ACTIVE", "configuration": {"executeCommandConfiguration":
                   {"kmsKeyId": "arn:aws:kms:us-east-1:000000000000:key/k", "logging": "OVERRIDE",
                    "logConfiguration": {"cloudWatchLogGroupName": "/exec"}}}}]})");
  f.aws.answer("DescribeKey", R"({"KeyMetadata": {"KeyState": true}})");
  f.aws.answer("DescribeLogGroups", R"({"logGroups": [{"logGroupName": 7}]})");
  f.aws.answer("DescribeTaskDefinition",
               R"({"taskDefinition": {"family": "web", "revision": 3, "containerDefinitions": [
                   {"name": "app", "environment": [{"name": 1, "value": "AKIAKEY"}]}]}})");
  f.aws.answer("DescribeContainerInstances",
               R"({"containerInstances": [{"ec2InstanceId": "i-1", "versionInfo": "1.80.0"}]})");
  ecs::TaskView task;
  task.arn = "arn:aws:ecs:us-east-1:000000000000:task/prod/t1";
  task.id = "t1";
  task.task_definition_arn = "arn:aws:ecs:us-east-1:000000000000:task-definition/web:3";
  task.container_instance_arn = "arn:aws:ecs:us-east-1:000000000000:container-instance/prod/ci";
  auto facts = fake::run(doctor::gather(*f.client, scope_of(task)));
  ASSERT_TRUE(facts) << facts.error().message;
  const auto& fx = facts.value();
  EXPECT_EQ(fx.cluster_unknown_reason, "");
  EXPECT_EQ(fx.log_group, "/exec");
  EXPECT_EQ(fx.kms_key_usable, std::nullopt);
  EXPECT_EQ(fx.kms_unknown_reason,
            "the DescribeKey response: KeyMetadata.KeyState is a boolean, not a string");
  EXPECT_EQ(fx.log_group_exists, std::nullopt);  // not known: the reply was malformed
  EXPECT_EQ(fx.role_unknown_reason,
            "the DescribeTaskDefinition response: taskDefinition.containerDefinitions[0]."
            "environment[0].name is an integer, not a string");
  EXPECT_TRUE(fx.container_definitions.empty());
  EXPECT_EQ(fx.task_unknown_reason,
            "the DescribeContainerInstances response: containerInstances[0].versionInfo is a "
            "string, not an object");
}

TEST(DoctorGather, WellFormedRepliesGiveTheFacts) {
  fake::FakeAwsClient f;
  f.aws.answer(
      "DescribeClusters",
      R"({"clusters": [{"status": "ACTIVE", "configuration": {"executeCommandConfiguration":
                   {"kmsKeyId": "arn:aws:kms:us-east-1:000000000000:key/k"}}}]})");
  f.aws.answer("DescribeKey", R"({"KeyMetadata": {"KeyState": "Enabled"}})");
  f.aws.answer("DescribeTaskDefinition",
               R"({"taskDefinition": {"family": "web", "revision": 3, "pidMode": "task",
                   "containerDefinitions": [{"name": "app", "readonlyRootFilesystem": true,
                   "linuxParameters": {"initProcessEnabled": true},
                   "environment": [{"name": "AWS_ACCESS_KEY_ID", "value": "AKIAKEY"},
                                   {"name": "AWS_SECRET_ACCESS_KEY", "value": "not-read"}],
                   "secrets": [{"name": "AWS_SESSION_TOKEN"}, {"name": "AWS_ACCESS_KEY"}]}]}})");
  f.aws.answer("DescribeContainerInstances",
               R"({"containerInstances": [{"ec2InstanceId": "i-1", "versionInfo":
                   {"agentVersion": "1.80.0"}, "attributes": [{"name": "ecs.subnet-id",
                   "value": "subnet-9"}, {"name": "ecs.vpc-id", "value": "vpc-9"}]}]})");
  ecs::TaskView task;
  task.arn = "arn:aws:ecs:us-east-1:000000000000:task/prod/t1";
  task.task_definition_arn = "arn:aws:ecs:us-east-1:000000000000:task-definition/web:3";
  task.container_instance_arn = "arn:aws:ecs:us-east-1:000000000000:container-instance/prod/ci";
  auto facts = fake::run(doctor::gather(*f.client, scope_of(task)));
  ASSERT_TRUE(facts) << facts.error().message;
  const auto& fx = facts.value();
  EXPECT_EQ(fx.kms_key_usable, true);
  EXPECT_EQ(fx.task_definition, "web:3");
  EXPECT_EQ(fx.pid_mode, "task");
  ASSERT_EQ(fx.container_definitions.size(), 1u);
  const auto& c = fx.container_definitions[0];
  EXPECT_TRUE(c.read_only_root);
  EXPECT_TRUE(c.init_process_enabled);
  EXPECT_EQ(c.credential_env,
            (std::vector<std::string>{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}));
  EXPECT_EQ(c.credential_secrets, (std::vector<std::string>{"AWS_ACCESS_KEY"}));
  EXPECT_EQ(fx.ec2_instance_id, "i-1");
  EXPECT_EQ(fx.agent_version, "1.80.0");
  EXPECT_EQ(fx.subnet_id, "subnet-9");
  EXPECT_EQ(fx.vpc_id, "vpc-9");
}
