#pragma once

// `ecsh exec --via`: which way into the container (docs/exec.md). `auto` tries ECS Exec and, when
// ExecuteCommand refuses for a reason that waiting or retrying does not fix and the task runs on
// EC2, offers the container instance (Method 2, instance_exec.hpp) instead. Pure.

#include "ecsh/common/error.hpp"
#include "ecsh/ecs/target.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace ecsh::connect {

enum class Via { automatic, ecs, ec2 };

// "auto", "ecs", "ec2"; nothing for any other name.
std::optional<Via> parse_via(std::string_view name);

// ExecuteCommand refused for a reason that waiting or retrying does not fix.
bool ecs_exec_refused(const Error& error);

// After ECS Exec failed with `error`: why ECS Exec is impossible for this container, when the
// container instance is to be offered instead; nothing when `error` is the answer (not --via
// auto, a failure that is not a refusal, or a task without a container instance).
std::optional<std::string> instance_fallback(Via via, const ecs::ResolvedTarget& target,
                                             const Error& error);

}  // namespace ecsh::connect
