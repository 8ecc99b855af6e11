#pragma once

// `ecsh enable`'s changes, made with the API: the exec policy on the role (IAM PutRolePolicy),
// the service flag and a new deployment (ECS UpdateService), then the rollout followed until a
// new task's exec agent is RUNNING (the decisions in plan.hpp and rollout.hpp).

#include "ecsh/aws/client.hpp"
#include "ecsh/common/asio.hpp"
#include "ecsh/common/error.hpp"
#include "ecsh/doctor/facts.hpp"
#include "ecsh/ecs/ecs_view.hpp"
#include "ecsh/enable/plan.hpp"

#include <chrono>
#include <functional>
#include <string>

namespace ecsh::enable {

// What applying tells as it goes. An empty function tells nothing.
struct Progress {
  std::function<void(const std::string& line)> done;  // a change made: "✓ updated service web…"
  std::function<void(const std::string& line)> rollout;  // the rollout's state, when it changes
  std::function<void()> rollout_end;                     // the rollout is over, for better or worse
};

// Follows the service's rollout until its primary deployment completes and a new task's exec
// agent is RUNNING, and returns that task. An error when the deployment fails, when the new
// tasks' exec agents stop, or after `timeout`.
Awaitable<Result<ecs::TaskView>> follow_rollout(aws::AwsClient& client, const doctor::Facts& facts,
                                                const std::string& service,
                                                std::chrono::seconds timeout,
                                                const Progress& progress);

// Makes the plan's changes in order and, when it redeploys, follows the rollout. Stops at the
// first step that fails. What the plan cannot fix stays as it is (plan.cannot_fix).
Awaitable<Result<void>> apply_enable(aws::AwsClient& client, const doctor::Facts& facts,
                                     const EnablePlan& plan, std::chrono::seconds timeout,
                                     const Progress& progress);

}  // namespace ecsh::enable
