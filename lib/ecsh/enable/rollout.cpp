#include "ecsh/enable/rollout.hpp"

#include "ecsh/ecs/exec_readiness.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace ecsh::enable {

std::string progress_line(const RolloutProgress& p) {
  return fmt::format("   rollout {:<11} new tasks {}/{} (exec agent RUNNING: {})  old tasks {}",
                     p.state, p.new_running, p.desired, p.ready, p.old_running);
}

RolloutStatus assess_rollout(const ecs::ServiceView& s, const std::vector<ecs::TaskView>& tasks) {
  RolloutStatus status;
  const ecs::ServiceView::Deployment* primary = nullptr;
  int old_running = 0;
  for (const auto& d : s.deployments) {
    if (d.status == ecs::DeploymentStatus::primary) {
      primary = &d;
    } else {
      old_running += d.running;
    }
  }
  int ready = 0, fresh = 0;
  const ecs::TaskView* ready_task = nullptr;
  for (const auto& t : tasks) {
    if (!t.enable_execute_command) continue;
    ++fresh;
    if (ecs::exec_readiness(t).ready()) {
      ++ready;
      ready_task = &t;
    }
  }
  status.progress.state = primary ? std::string(ecs::name(primary->rollout_state)) : "?";
  status.progress.new_running = primary ? primary->running : 0;
  status.progress.desired = s.desired_count;
  status.progress.ready = ready;
  status.progress.old_running = old_running;

  if (primary && primary->rollout_state == ecs::RolloutState::failed) {
    status.outcome = RolloutStatus::Outcome::failed;
    status.failure = primary->rollout_state_reason;
    return status;
  }
  if (primary && primary->rollout_state == ecs::RolloutState::completed && old_running == 0 &&
      fresh == static_cast<int>(tasks.size())) {
    if (ready_task) {
      status.outcome = RolloutStatus::Outcome::ready;
      status.ready_task = *ready_task;
      return status;
    }
    // Every new task runs, but its exec agent gave up: say why instead of waiting.
    for (const auto& t : tasks) {
      for (const auto& c : t.containers) {
        if (ecs::exec_readiness(t, c).blocker == ecs::ExecBlocker::agent_stopped) {
          Error e =
              Error::usage("the new task " + t.id + " runs, but the exec agent of container " +
                               c.name + " stopped: " + c.exec_agent_reason,
                           "Run ecsh doctor on the task for the fix.");
          e.kind = ErrorKind::service;
          status.outcome = RolloutStatus::Outcome::agent_stopped;
          status.agent_error = std::move(e);
          return status;
        }
      }
    }
  }
  return status;
}

Error rollout_failed(const std::string& service, const std::string& failure,
                     const std::vector<ecs::TaskView>& stopped) {
  std::string reasons;
  for (const auto& t : stopped) {
    if (!t.stopped_reason.empty() && reasons.find(t.stopped_reason) == std::string::npos) {
      reasons += "\n   " + t.id + ": " + t.stopped_reason;
    }
  }
  Error e = Error::usage("the new deployment of " + service + " failed: " + failure + reasons,
                         "Fix the cause above, then run ecsh enable again.");
  e.kind = ErrorKind::service;
  return e;
}

Error rollout_timed_out(const std::string& cluster_name, const std::string& service,
                        std::chrono::seconds timeout) {
  return Error::connection(
      "the rollout of " + service + " did not finish in " + std::to_string(timeout.count()) + " s",
      "Watch it with: aws ecs describe-services --cluster " + cluster_name + " --services " +
          service,
      false);
}

}  // namespace ecsh::enable
