#pragma once

// `ecsh run`: which tasks and containers a fleet command runs on, decided from what
// DescribeTasks said (pure). Tasks that ECS Exec cannot reach for a reason visible there (exec
// disabled at launch, an agent that is not RUNNING) are kept, marked with the reason, and never
// tried: they are reported, not fatal.

#include "ecsh/common/error.hpp"
#include "ecsh/ecs/ecs_view.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace ecsh::fleet {

struct Selection {
  std::vector<std::string> services;  // service names; empty: every running task of the cluster
  std::string family;                 // task definition family; empty: any
  std::string container;              // container name or unique prefix; empty: the app container
};

// The running tasks of one cluster, as described.
struct ClusterTasks {
  std::string cluster_arn;
  std::string cluster_name;
  std::vector<ecs::TaskView> tasks;
};

// Why ECS Exec cannot get into a container, and what to do about it.
struct Unreachable {
  std::string reason;  // "exec disabled at launch", …
  std::string fix;     // one line, may be empty
};

struct Target {
  std::string cluster_arn;
  std::string cluster_name;
  ecs::TaskView task;
  ecs::ContainerView container;
  std::string label;                       // "3f2a91/app": the prefix of each output line
  std::optional<Unreachable> unreachable;  // known before trying: the task is not tried
};

// The family of the task's task definition ("web" for ".../task-definition/web:7").
std::string task_family(const ecs::TaskView& task);

// Why ECS Exec cannot reach this container, when DescribeTasks shows it.
std::optional<Unreachable> precheck(const std::string& cluster_name, const ecs::TaskView& task,
                                    const ecs::ContainerView& container);

// The shortest prefixes (at least min_len characters) that tell the IDs apart.
std::vector<std::string> short_ids(const std::vector<std::string>& ids, std::size_t min_len = 6);

// The targets, ordered by cluster, service and task ID. Tasks that are not RUNNING, or of another
// family, or without the container named, do not match. A usage error when nothing matches, or
// when a task has several application containers and none was named.
Result<std::vector<Target>> plan(const std::vector<ClusterTasks>& clusters,
                                 const Selection& selection);

}  // namespace ecsh::fleet
