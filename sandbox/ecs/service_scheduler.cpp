// The service scheduler: deployments and rolling replacement within maximumPercent and
// minimumHealthyPercent, the deployment circuit breaker (and rollback), and service events.

#include "sandbox/ecs/ecs_module_impl.hpp"

#include "ecsh/common/crypto.hpp"
#include "sandbox/core/time_format.hpp"

#include <algorithm>
#include <functional>

namespace ecsh::sandbox::ecs {

Deployment Ecs::new_deployment(const Service& s) const {
  Deployment d;
  d.id = "ecs-svc/" + std::to_string(1000000000000000000ULL +
                                     std::hash<std::string>{}(hex_id(8)) % 8999999999999999999ULL);
  d.task_definition = s.task_definition;
  d.desired = s.desired;
  d.launch_type = s.launch_type;
  d.platform_version = s.platform_version;
  d.created = d.updated = now();
  return d;
}

void Ecs::event(Service& s, const std::string& message) {
  json::object e{{"id", crypto::uuid4()},
                 {"createdAt", epoch_seconds(now())},
                 {"message", "(service " + s.name + ") " + message}};
  s.events.insert(s.events.begin(), std::move(e));
  if (s.events.size() > 100) s.events.resize(100);
}

bool Ecs::reconcile(Service& s, TimePoint now_tp) {
  if (s.status != ServiceStatus::active && s.status != ServiceStatus::draining) return false;
  if (s.deployments.empty()) return false;
  bool changed = false;
  Deployment& primary = s.deployments.front();
  // A task counts as running for the rollout once it has stayed up a moment: one that crashes
  // at once neither replaces an old task nor completes the deployment (ECS waits for a steady
  // state too).
  const auto stable = std::chrono::milliseconds(1500);
  auto tasks_of = [this, &s, now_tp, stable](const std::string& deployment, bool running_only) {
    std::vector<Task*> out;
    for (auto& [id, t] : tasks_) {
      if (t.group != "service:" + s.name || t.cluster != s.cluster) continue;
      if (t.deployment_id != deployment || t.desired_status == TaskStatus::stopped) continue;
      if (running_only && (t.last_status != TaskStatus::running || now_tp - t.started < stable))
        continue;
      out.push_back(&t);
    }
    return out;
  };
  int desired = s.status == ServiceStatus::draining ? 0 : s.desired;
  primary.desired = desired;
  auto primary_tasks = tasks_of(primary.id, false);
  int old_count = 0;
  for (std::size_t i = 1; i < s.deployments.size(); ++i) {
    old_count += static_cast<int>(tasks_of(s.deployments[i].id, false).size());
  }
  // Count failures: tasks of this deployment that stopped on their own.
  int failed = 0;
  for (auto& [id, t] : tasks_) {
    if (t.deployment_id == primary.id && t.last_status == TaskStatus::stopped &&
        ((t.stop_code != "UserInitiated" && t.stop_code != "ServiceSchedulerInitiated") ||
         t.stopped_reason == "Task failed container health checks")) {
      ++failed;
    }
  }
  if (failed != primary.failed) {
    primary.failed = failed;
    changed = true;
  }
  if (primary.rollout_state == RolloutState::in_progress && s.circuit_breaker &&
      primary.failed >= 3) {
    primary.rollout_state = RolloutState::failed;
    primary.rollout_reason = "ECS deployment circuit breaker: tasks failed to start.";
    event(s, "(deployment " + primary.id + ") deployment failed: tasks failed to start.");
    changed = true;
    if (s.rollback && !s.completed_deployment.empty() &&
        task_definition(s.completed_task_definition)) {
      // Back to the last deployment that completed, as a new deployment of its task definition.
      const std::string back_to = s.completed_deployment;
      s.task_definition = s.completed_task_definition;
      for (auto& d : s.deployments) d.status = DeploymentStatus::active;
      Deployment d = new_deployment(s);
      d.rollout_reason =
          "ECS deployment circuit breaker: rolling back to deploymentId " + back_to + ".";
      s.deployments.insert(s.deployments.begin(), d);
      event(s, "rolling back to deployment " + back_to + ".");
      return true;
    }
  }
  if (primary.rollout_state == RolloutState::failed) return changed;

  int max_total = std::max(desired, desired * s.max_percent / 100);
  int have = static_cast<int>(primary_tasks.size());
  std::vector<std::string> started_ids;
  while (have < desired && have + old_count < std::max(max_total, desired)) {
    const json::object* def = task_definition(primary.task_definition);
    if (!def) break;
    std::string subnet = s.subnets.empty() ? std::string() : s.subnets.front();
    auto t = launch(s.cluster, *def, "service:" + s.name, "ecs-svc/" + primary.id.substr(8),
                    s.launch_type, s.platform_version, s.enable_execute_command, subnet, "", "",
                    primary.id);
    if (!t) break;
    started_ids.push_back(t.value()->id);
    ++have;
    changed = true;
  }
  if (!started_ids.empty()) {
    std::string list;
    for (const auto& id : started_ids)
      list += (list.empty() ? "" : " ") + std::string("(task ") + id + ")";
    event(s, "has started " + std::to_string(started_ids.size()) + " tasks: " + list + ".");
  }
  // Scale down the primary when desired dropped.
  if (have > desired) {
    for (auto* t : primary_tasks) {
      if (have <= desired) break;
      request_stop(*t, "Scaling activity initiated by (deployment " + primary.id + ")",
                   "ServiceSchedulerInitiated");
      --have;
      changed = true;
    }
  }
  // Drain old deployments as the new one's tasks run, keeping minimumHealthyPercent.
  int running_new = static_cast<int>(tasks_of(primary.id, true).size());
  int min_healthy = desired * s.min_healthy / 100;
  for (std::size_t i = 1; i < s.deployments.size(); ++i) {
    auto old = tasks_of(s.deployments[i].id, false);
    for (auto* t : old) {
      int healthy_without = running_new + old_count - 1;
      if (running_new < desired && healthy_without < min_healthy) break;
      request_stop(*t, "Task stopped by ECS: replaced by a new deployment",
                   "ServiceSchedulerInitiated");
      --old_count;
      changed = true;
    }
  }
  // Retire deployments with no tasks left.
  for (std::size_t i = 1; i < s.deployments.size();) {
    bool any = false;
    for (auto& [id, t] : tasks_) {
      if (t.deployment_id == s.deployments[i].id && t.last_status != TaskStatus::stopped)
        any = true;
    }
    if (!any) {
      s.deployments.erase(s.deployments.begin() + static_cast<long>(i));
      changed = true;
    } else {
      ++i;
    }
  }
  if (primary.rollout_state == RolloutState::in_progress && s.deployments.size() == 1 &&
      running_new == desired) {
    primary.rollout_state = RolloutState::completed;
    primary.rollout_reason = "ECS deployment " + primary.id + " completed.";
    s.completed_deployment = primary.id;
    s.completed_task_definition = primary.task_definition;
    primary.updated = now_tp;
    event(s, "(deployment " + primary.id + ") deployment completed.");
    event(s, "has reached a steady state.");
    changed = true;
  }
  return changed;
}

}  // namespace ecsh::sandbox::ecs
