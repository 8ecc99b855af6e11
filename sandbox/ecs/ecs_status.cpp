#include "sandbox/ecs/ecs_status.hpp"

#include <initializer_list>

namespace ecsh::sandbox::ecs {

std::string_view wire_name(TaskStatus s) {
  switch (s) {
    case TaskStatus::provisioning:
      return "PROVISIONING";
    case TaskStatus::pending:
      return "PENDING";
    case TaskStatus::running:
      return "RUNNING";
    case TaskStatus::deactivating:
      return "DEACTIVATING";
    case TaskStatus::stopping:
      return "STOPPING";
    case TaskStatus::stopped:
      return "STOPPED";
  }
  return "STOPPED";
}

std::string_view wire_name(ContainerStatus s) {
  switch (s) {
    case ContainerStatus::pending:
      return "PENDING";
    case ContainerStatus::running:
      return "RUNNING";
    case ContainerStatus::stopped:
      return "STOPPED";
  }
  return "STOPPED";
}

std::string_view wire_name(HealthStatus s) {
  switch (s) {
    case HealthStatus::unknown:
      return "UNKNOWN";
    case HealthStatus::healthy:
      return "HEALTHY";
    case HealthStatus::unhealthy:
      return "UNHEALTHY";
  }
  return "UNKNOWN";
}

std::string_view wire_name(AgentStatus s) {
  switch (s) {
    case AgentStatus::pending:
      return "PENDING";
    case AgentStatus::running:
      return "RUNNING";
    case AgentStatus::stopped:
      return "STOPPED";
  }
  return "STOPPED";
}

std::string_view wire_name(ServiceStatus s) {
  switch (s) {
    case ServiceStatus::active:
      return "ACTIVE";
    case ServiceStatus::draining:
      return "DRAINING";
    case ServiceStatus::inactive:
      return "INACTIVE";
  }
  return "INACTIVE";
}

std::string_view wire_name(DeploymentStatus s) {
  switch (s) {
    case DeploymentStatus::primary:
      return "PRIMARY";
    case DeploymentStatus::active:
      return "ACTIVE";
  }
  return "ACTIVE";
}

std::string_view wire_name(RolloutState s) {
  switch (s) {
    case RolloutState::in_progress:
      return "IN_PROGRESS";
    case RolloutState::completed:
      return "COMPLETED";
    case RolloutState::failed:
      return "FAILED";
  }
  return "FAILED";
}

namespace {

template <class Enum>
std::optional<Enum> parse(std::string_view word, std::initializer_list<Enum> values) {
  for (Enum v : values) {
    if (wire_name(v) == word) return v;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ServiceStatus> parse_service_status(std::string_view word) {
  return parse(word, {ServiceStatus::active, ServiceStatus::draining, ServiceStatus::inactive});
}

std::optional<DeploymentStatus> parse_deployment_status(std::string_view word) {
  return parse(word, {DeploymentStatus::primary, DeploymentStatus::active});
}

std::optional<RolloutState> parse_rollout_state(std::string_view word) {
  return parse(word, {RolloutState::in_progress, RolloutState::completed, RolloutState::failed});
}

}  // namespace ecsh::sandbox::ecs
