#pragma once

// ECS's status words, typed. Each is parsed once, where a Describe response is read
// (ecs_view.cpp); everything above lib/ecsh/ecs/ compares enums, never strings. A word ECS
// may add later parses as `unknown` rather than failing the whole response.

#include <cstdint>
#include <optional>
#include <string_view>

namespace ecsh::ecs {

// A task's (and a container's) lastStatus or desiredStatus: the task lifecycle, in order.
enum class TaskStatus : std::uint8_t {
  unknown,
  provisioning,
  pending,
  activating,
  running,
  deactivating,
  stopping,
  deprovisioning,
  stopped,
  deleted,
};

// A managed agent's lastStatus (the ExecuteCommandAgent of a container).
enum class AgentStatus : std::uint8_t { unknown, pending, running, stopped };

// healthStatus of a task or a container. ECS sends UNKNOWN when no health check is defined.
enum class HealthStatus : std::uint8_t { unknown, healthy, unhealthy };

// A deployment's status and rolloutState.
enum class DeploymentStatus : std::uint8_t { unknown, primary, active, inactive };
enum class RolloutState : std::uint8_t { unknown, in_progress, completed, failed };

// A cluster's status.
enum class ClusterStatus : std::uint8_t {
  unknown,
  active,
  provisioning,
  deprovisioning,
  failed,
  inactive,
};

// The word ECS uses ("RUNNING", "IN_PROGRESS", …); "UNKNOWN" for unknown.
std::string_view name(TaskStatus s);
std::string_view name(AgentStatus s);
std::string_view name(HealthStatus s);
std::string_view name(DeploymentStatus s);
std::string_view name(RolloutState s);
std::string_view name(ClusterStatus s);

TaskStatus parse_task_status(std::string_view word);
AgentStatus parse_agent_status(std::string_view word);
HealthStatus parse_health_status(std::string_view word);
DeploymentStatus parse_deployment_status(std::string_view word);
RolloutState parse_rollout_state(std::string_view word);
ClusterStatus parse_cluster_status(std::string_view word);

// PROVISIONING, PENDING or ACTIVATING: the task may still reach RUNNING.
bool is_starting(TaskStatus s);
// DEACTIVATING and later: the task will never run (again).
bool is_ending(TaskStatus s);

}  // namespace ecsh::ecs
