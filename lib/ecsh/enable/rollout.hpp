#pragma once

// Following the redeploy that enable starts (pure): from the service as DescribeServices shows it
// and its running tasks, how far the rollout is and whether it is over: a new task whose exec
// agent is RUNNING, a deployment that failed, or new tasks whose exec agent gave up.

#include "ecsh/common/error.hpp"
#include "ecsh/ecs/ecs_view.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace ecsh::enable {

struct RolloutProgress {
  std::string state;    // the PRIMARY deployment's rolloutState; "?" when there is none
  int new_running = 0;  // the PRIMARY deployment's running tasks
  int desired = 0;      // the service's desired count
  int ready = 0;        // running tasks started with exec whose exec agent is RUNNING
  int old_running = 0;  // the other deployments' running tasks
};

// "   rollout IN_PROGRESS new tasks 1/2 (exec agent RUNNING: 1)  old tasks 1"
std::string progress_line(const RolloutProgress& progress);

struct RolloutStatus {
  enum class Outcome {
    waiting,        // not over yet: ask again later
    ready,          // ready_task can be exec'd into
    failed,         // the new deployment failed (failure says why)
    agent_stopped,  // every new task runs, but an exec agent stopped (agent_error says where)
  };
  Outcome outcome = Outcome::waiting;
  RolloutProgress progress;
  std::optional<ecs::TaskView> ready_task;
  std::string failure;  // the PRIMARY deployment's rolloutStateReason
  std::optional<Error> agent_error;
};

// `running`: the service's RUNNING tasks, as described.
RolloutStatus assess_rollout(const ecs::ServiceView& service,
                             const std::vector<ecs::TaskView>& running);

// The error for a failed deployment: its reason, then each distinct stopped reason of the
// service's stopped tasks (`stopped`, may be empty).
Error rollout_failed(const std::string& service, const std::string& failure,
                     const std::vector<ecs::TaskView>& stopped);

// The error when the rollout did not finish within `timeout`.
Error rollout_timed_out(const std::string& cluster_name, const std::string& service,
                        std::chrono::seconds timeout);

}  // namespace ecsh::enable
