#pragma once

// From -c/-s/-t/-n (each optional, each a name, ID, ARN or unique prefix) to one running task
// and one container, as docs/exec.md "Target selection" describes.

#include "ecsh/ecs/ecs_view.hpp"
#include "ecsh/ecs/target_match.hpp"

namespace ecsh::ecs {

struct TargetSpec {
  std::string cluster, service, task, container;
};

struct ResolvedTarget {
  std::string cluster_arn;
  std::string cluster_name;
  TaskView task;
  ContainerView container;
};

// `picker` may be null (stdin not a TTY): several candidates are then a usage error listing them.
Awaitable<Result<ResolvedTarget>> resolve_target(aws::AwsClient& client, const TargetSpec& spec,
                                                 const Picker& picker);

// One of `arns` chosen by name (the last part of the ARN), ARN or unique prefix, as
// select_one does; returns the ARN.
Result<std::string> select_arn(const SelectRequest& request, const std::vector<std::string>& arns,
                               const Picker& picker);

// Only cluster (+ optional service / task) resolution, for commands that act on a whole service
// or cluster (doctor, enable, ls).
Awaitable<Result<std::string>> resolve_cluster(aws::AwsClient& client, const std::string& given,
                                               const Picker& picker);

}  // namespace ecsh::ecs
