#pragma once

// The sandbox's ECS model: clusters with their container instances, tasks and their containers,
// services with their deployments, and the network facts of the scenario. Plain data; the ECS
// module (ecs_module_impl.hpp) changes it and ecs_shapes.cpp shows it as ECS does.

#include "sandbox/ecs/ecs_status.hpp"
#include "sandbox/runtime/task_runtime.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ecsh::sandbox::ecs {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

struct ContainerInstance {
  std::string id, arn, ec2_instance_id, agent_version = "1.80.0", instance_role_arn, subnet_id;
  std::string private_ip;
  std::string agent_hash = "ecshsbx", docker_version = "DockerVersion: 20.10.25";
  bool ssm_managed = true;  // the instance's SSM agent is registered (sessions to the host)
  // The AMI has the SSM agent's binaries the ECS agent mounts into containers for ECS Exec
  // (/var/lib/ecs/deps/execute-command); a custom AMI may not.
  bool exec_binaries = true;
  TimePoint registered;
};

struct Cluster {
  std::string name, arn, region;
  boost::json::object exec_config;  // executeCommandConfiguration as given
  std::map<std::string, ContainerInstance> instances;
  boost::json::array tags;
  TimePoint created;
};

// A container's ExecuteCommandAgent.
struct Agent {
  AgentStatus status = AgentStatus::pending;
  std::string reason;
  TimePoint started;
};

// Where the awslogs driver sends a container's output: read from its log file as it grows.
struct LogForward {
  std::string group, stream, path;
  std::uint64_t offset = 0;
  std::string partial;  // a line not yet ended
};

// A container's healthCheck as Docker runs it.
struct HealthCheck {
  std::vector<std::string> argv;
  std::chrono::seconds interval{30}, timeout{5}, start_period{0};
  int retries = 3;
  int failures = 0;  // consecutive
  TimePoint next;
  std::optional<TimePoint> running_since;  // a check in flight
  std::shared_ptr<runtime::ExecProcess> process;
};

struct Container {
  std::string name, runtime_id, image;
  ContainerStatus last_status = ContainerStatus::pending;
  std::optional<int> exit_code;
  std::string reason;  // why it stopped, as ECS words it (OutOfMemoryError: …)
  HealthStatus health_status = HealthStatus::unknown;
  bool essential = true;
  std::optional<Agent> agent;  // absent when exec is off for the task
  // Runtime state (not persisted: tasks do not survive a restart).
  int pid = 0;
  std::int64_t memory_limit_mib = 0;  // the container definition's `memory` (hard limit)
  bool oom_killed = false;
  std::optional<LogForward> log;
  std::optional<HealthCheck> health;
};

struct Task {
  std::string id, arn, cluster, region, task_definition_arn, group, started_by, launch_type,
      platform_version, container_instance_arn, subnet_id, override_role, deployment_id;
  TaskStatus last_status = TaskStatus::provisioning, desired_status = TaskStatus::running;
  std::string stopped_reason, stop_code;
  bool enable_execute_command = false;
  bool runtime_started = false;
  bool stopping = false;
  std::vector<Container> containers;
  TimePoint created, started, stopped, stopping_at;
  boost::json::array tags;
};

struct Deployment {
  std::string id;
  DeploymentStatus status = DeploymentStatus::primary;
  std::string task_definition, launch_type, platform_version;
  RolloutState rollout_state = RolloutState::in_progress;
  std::string rollout_reason;
  int desired = 0, failed = 0;
  TimePoint created, updated;
};

struct Service {
  std::string name, arn, cluster, region, task_definition, launch_type = "FARGATE",
                                                           platform_version = "LATEST";
  ServiceStatus status = ServiceStatus::active;
  int desired = 0;
  bool enable_execute_command = false;
  std::vector<std::string> subnets;
  std::vector<Deployment> deployments;
  boost::json::array events;
  boost::json::array tags;
  int max_percent = 200, min_healthy = 100;
  bool circuit_breaker = true;
  bool rollback = false;
  // The last deployment that completed, which the circuit breaker rolls back to.
  std::string completed_deployment, completed_task_definition;
  std::string created_by;  // the caller's ARN (AWS returns the role or user that created it)
  TimePoint created;
};

struct Subnet {
  std::string vpc_id;
  bool route_out = true;
};

}  // namespace ecsh::sandbox::ecs
