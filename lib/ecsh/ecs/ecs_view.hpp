#pragma once

// What ecsh reads about ECS, typed: clusters, services, tasks and their containers with the exec
// agent's status, as DescribeTasks/DescribeServices return them. Parsing is pure (from JSON);
// the fetch functions call the API with pagination and batching (100 tasks / 10 services per
// Describe call, as ECS allows).

#include "ecsh/aws/client.hpp"
#include "ecsh/common/error.hpp"
#include "ecsh/common/json_fields.hpp"
#include "ecsh/ecs/status.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ecsh::ecs {

struct ContainerView {
  std::string name;
  std::string runtime_id;
  TaskStatus last_status = TaskStatus::unknown;
  std::string image;
  std::optional<int> exit_code;
  std::string reason;  // why it stopped ("OutOfMemoryError: …", "CannotPullContainerError…")
  HealthStatus health_status = HealthStatus::unknown;
  // The ExecuteCommandAgent managed agent: absent when the container has none. Whether exec can
  // work is decided from it in one place: exec_readiness.hpp.
  std::optional<AgentStatus> exec_agent_status;
  std::string exec_agent_reason;
};

struct TaskView {
  std::string arn;
  std::string id;  // the last part of the ARN
  std::string cluster_arn;
  std::string task_definition_arn;
  TaskStatus last_status = TaskStatus::unknown;
  TaskStatus desired_status = TaskStatus::unknown;
  std::string launch_type;  // FARGATE, EC2, EXTERNAL
  std::string platform_version;
  std::string container_instance_arn;
  std::string group;  // "service:web"
  std::string stopped_reason;
  std::string stop_code;  // EssentialContainerExited, TaskFailedToStart, UserInitiated, …
  HealthStatus health_status = HealthStatus::unknown;
  std::string override_task_role_arn;  // overrides.taskRoleArn
  std::string subnet_id;               // awsvpc: the ENI attachment's subnet
  bool enable_execute_command = false;
  std::vector<ContainerView> containers;
  std::optional<double> started_at;
  std::optional<double> stopped_at;  // epoch seconds
  std::optional<double> created_at;

  std::string service_name() const;  // from group, "" when not a service task
};

struct ServiceView {
  std::string arn;
  std::string name;
  std::string cluster_arn;
  std::string status;
  std::string task_definition;
  std::string launch_type;
  std::string platform_version;
  bool enable_execute_command = false;
  int desired_count = 0, running_count = 0, pending_count = 0;
  struct Deployment {
    std::string id;
    DeploymentStatus status = DeploymentStatus::unknown;
    RolloutState rollout_state = RolloutState::unknown;
    std::string rollout_state_reason, task_definition;
    int desired = 0, running = 0, pending = 0, failed = 0;
    std::optional<double> created_at, updated_at;
  };
  std::vector<Deployment> deployments;
  struct Event {
    std::string id, message;
    std::optional<double> created_at;
  };
  std::vector<Event> events;  // newest first, as ECS returns them
  bool circuit_breaker = false, rollback = false;
};

struct ClusterView {
  std::string arn;
  ClusterStatus status = ClusterStatus::unknown;
  std::int64_t active_services = 0, running_tasks = 0, pending_tasks = 0;
  // configuration.executeCommandConfiguration (DescribeClusters with include CONFIGURATIONS)
  std::string exec_kms_key_id;
  std::string exec_logging;  // DEFAULT, NONE, OVERRIDE ("" when not configured)
  std::string exec_log_group;
  std::string exec_s3_bucket;
};

struct ContainerInstanceView {
  std::string arn;
  std::string ec2_instance_id;
  std::string agent_version;                                    // versionInfo.agentVersion
  std::vector<std::pair<std::string, std::string>> attributes;  // "ecs.subnet-id", "subnet-…"
};

// The last path segment of an ARN ("arn:…:task/demo/0123" -> "0123"); the input if no '/'.
std::string arn_name(std::string_view arn);

// One task, service or cluster object of a Describe response. Fields ECS always sends and ecsh
// relies on are required (a task's taskArn and its containers' names, a service's serviceName);
// any field of the wrong type is a protocol error naming it.
Result<TaskView> parse_task(const JsonFields& task);
Result<ServiceView> parse_service(const JsonFields& service);
Result<ClusterView> parse_cluster(const JsonFields& cluster);
// The "tasks" / "services" / "clusters" of whole DescribeTasks / DescribeServices /
// DescribeClusters responses ("failures" are not read: what is missing is simply not there).
Result<std::vector<TaskView>> parse_describe_tasks(const boost::json::object& response);
Result<std::vector<ServiceView>> parse_describe_services(const boost::json::object& response);
Result<std::vector<ClusterView>> parse_describe_clusters(const boost::json::object& response);
Result<std::vector<ContainerInstanceView>> parse_describe_container_instances(
    const boost::json::object& response);

Awaitable<Result<std::vector<std::string>>> list_cluster_arns(aws::AwsClient& client);
Awaitable<Result<std::vector<std::string>>> list_service_arns(aws::AwsClient& client,
                                                              const std::string& cluster);
// Tasks of a cluster (optionally of one service), RUNNING by default.
Awaitable<Result<std::vector<std::string>>> list_task_arns(aws::AwsClient& client,
                                                           const std::string& cluster,
                                                           const std::string& service,
                                                           TaskStatus desired_status);
Awaitable<Result<std::vector<TaskView>>> describe_tasks(aws::AwsClient& client,
                                                        const std::string& cluster,
                                                        const std::vector<std::string>& task_arns);
Awaitable<Result<std::vector<ServiceView>>> describe_services(
    aws::AwsClient& client, const std::string& cluster, const std::vector<std::string>& names);
// DescribeClusters of one cluster (by name or ARN), with its configuration; nothing when ECS
// does not know it.
Awaitable<Result<std::optional<ClusterView>>> describe_cluster(aws::AwsClient& client,
                                                               const std::string& cluster);
// DescribeContainerInstances of one container instance; nothing when ECS does not know it.
Awaitable<Result<std::optional<ContainerInstanceView>>> describe_container_instance(
    aws::AwsClient& client, const std::string& cluster, const std::string& container_instance);

}  // namespace ecsh::ecs
