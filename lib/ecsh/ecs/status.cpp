#include "ecsh/ecs/status.hpp"

#include <array>
#include <utility>

namespace ecsh::ecs {
namespace {

// One table per enum: the enum's values in order, each with ECS's word. name() indexes it and
// parse_*() searches it, so the two directions cannot disagree.
template <typename Enum, std::size_t N>
using Words = std::array<std::pair<Enum, std::string_view>, N>;

constexpr Words<TaskStatus, 10> kTaskWords{{
    {TaskStatus::unknown, "UNKNOWN"},
    {TaskStatus::provisioning, "PROVISIONING"},
    {TaskStatus::pending, "PENDING"},
    {TaskStatus::activating, "ACTIVATING"},
    {TaskStatus::running, "RUNNING"},
    {TaskStatus::deactivating, "DEACTIVATING"},
    {TaskStatus::stopping, "STOPPING"},
    {TaskStatus::deprovisioning, "DEPROVISIONING"},
    {TaskStatus::stopped, "STOPPED"},
    {TaskStatus::deleted, "DELETED"},
}};
constexpr Words<AgentStatus, 4> kAgentWords{{
    {AgentStatus::unknown, "UNKNOWN"},
    {AgentStatus::pending, "PENDING"},
    {AgentStatus::running, "RUNNING"},
    {AgentStatus::stopped, "STOPPED"},
}};
constexpr Words<HealthStatus, 3> kHealthWords{{
    {HealthStatus::unknown, "UNKNOWN"},
    {HealthStatus::healthy, "HEALTHY"},
    {HealthStatus::unhealthy, "UNHEALTHY"},
}};
constexpr Words<DeploymentStatus, 4> kDeploymentWords{{
    {DeploymentStatus::unknown, "UNKNOWN"},
    {DeploymentStatus::primary, "PRIMARY"},
    {DeploymentStatus::active, "ACTIVE"},
    {DeploymentStatus::inactive, "INACTIVE"},
}};
constexpr Words<RolloutState, 4> kRolloutWords{{
    {RolloutState::unknown, "UNKNOWN"},
    {RolloutState::in_progress, "IN_PROGRESS"},
    {RolloutState::completed, "COMPLETED"},
    {RolloutState::failed, "FAILED"},
}};
constexpr Words<ClusterStatus, 6> kClusterWords{{
    {ClusterStatus::unknown, "UNKNOWN"},
    {ClusterStatus::active, "ACTIVE"},
    {ClusterStatus::provisioning, "PROVISIONING"},
    {ClusterStatus::deprovisioning, "DEPROVISIONING"},
    {ClusterStatus::failed, "FAILED"},
    {ClusterStatus::inactive, "INACTIVE"},
}};

template <typename Enum, std::size_t N>
constexpr bool in_order(const Words<Enum, N>& words) {
  for (std::size_t i = 0; i < N; ++i) {
    if (static_cast<std::size_t>(words[i].first) != i) return false;
  }
  return true;
}
static_assert(in_order(kTaskWords) && in_order(kAgentWords) && in_order(kHealthWords) &&
              in_order(kDeploymentWords) && in_order(kRolloutWords) && in_order(kClusterWords));

template <typename Enum, std::size_t N>
std::string_view word_of(const Words<Enum, N>& words, Enum e) {
  auto i = static_cast<std::size_t>(e);
  return i < N ? words[i].second : words[0].second;
}

template <typename Enum, std::size_t N>
Enum parse_word(const Words<Enum, N>& words, std::string_view word) {
  for (const auto& [e, w] : words) {
    if (w == word) return e;
  }
  return words[0].first;
}

}  // namespace

std::string_view name(TaskStatus s) { return word_of(kTaskWords, s); }
std::string_view name(AgentStatus s) { return word_of(kAgentWords, s); }
std::string_view name(HealthStatus s) { return word_of(kHealthWords, s); }
std::string_view name(DeploymentStatus s) { return word_of(kDeploymentWords, s); }
std::string_view name(RolloutState s) { return word_of(kRolloutWords, s); }
std::string_view name(ClusterStatus s) { return word_of(kClusterWords, s); }

TaskStatus parse_task_status(std::string_view w) { return parse_word(kTaskWords, w); }
AgentStatus parse_agent_status(std::string_view w) { return parse_word(kAgentWords, w); }
HealthStatus parse_health_status(std::string_view w) { return parse_word(kHealthWords, w); }
DeploymentStatus parse_deployment_status(std::string_view w) {
  return parse_word(kDeploymentWords, w);
}
RolloutState parse_rollout_state(std::string_view w) { return parse_word(kRolloutWords, w); }
ClusterStatus parse_cluster_status(std::string_view w) { return parse_word(kClusterWords, w); }

bool is_starting(TaskStatus s) {
  return s == TaskStatus::provisioning || s == TaskStatus::pending || s == TaskStatus::activating;
}

bool is_ending(TaskStatus s) {
  return s == TaskStatus::deactivating || s == TaskStatus::stopping ||
         s == TaskStatus::deprovisioning || s == TaskStatus::stopped || s == TaskStatus::deleted;
}

}  // namespace ecsh::ecs
