#pragma once

// The statuses of the sandbox's ECS model, and the words ECS uses for them on the wire (and in
// the sandbox's state file). Code compares the enums; only the JSON shapes and the state file
// turn them into these strings.

#include <optional>
#include <string_view>

namespace ecsh::sandbox::ecs {

// A task's lastStatus and desiredStatus.
enum class TaskStatus { provisioning, pending, running, deactivating, stopping, stopped };
// A container's lastStatus.
enum class ContainerStatus { pending, running, stopped };
// A container's (and a task's) healthStatus.
enum class HealthStatus { unknown, healthy, unhealthy };
// The lastStatus of a container's ExecuteCommandAgent (managedAgents).
enum class AgentStatus { pending, running, stopped };
// A service's status.
enum class ServiceStatus { active, draining, inactive };
// A deployment's status: the newest is PRIMARY, the ones it replaces ACTIVE.
enum class DeploymentStatus { primary, active };
// A deployment's rolloutState.
enum class RolloutState { in_progress, completed, failed };

// "RUNNING", "STOPPED", … as ECS writes them.
std::string_view wire_name(TaskStatus s);
std::string_view wire_name(ContainerStatus s);
std::string_view wire_name(HealthStatus s);
std::string_view wire_name(AgentStatus s);
std::string_view wire_name(ServiceStatus s);
std::string_view wire_name(DeploymentStatus s);
std::string_view wire_name(RolloutState s);

// The statuses the state file keeps, read back; nullopt for a word that is not one.
std::optional<ServiceStatus> parse_service_status(std::string_view word);
std::optional<DeploymentStatus> parse_deployment_status(std::string_view word);
std::optional<RolloutState> parse_rollout_state(std::string_view word);

}  // namespace ecsh::sandbox::ecs
