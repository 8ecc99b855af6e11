#pragma once

// ECS of the sandbox: clusters (with their exec configuration), task definitions, services with
// deployments and rolling replacement, tasks that really run (process runtime) with lifecycles
// driven by the 50 ms tick, container instances, and ExecuteCommand failing or succeeding for
// the reasons it does on AWS:
//   - enableExecuteCommand is captured when a task launches; changing the service changes
//     nothing for running tasks until a new deployment replaces them;
//   - a container's ExecuteCommandAgent connects only when the credentials it acts with (AWS
//     keys in the container's environment, else the task role: override, task definition, or on
//     EC2 the instance role) allow the four ssmmessages actions, the task can reach ssmmessages
//     (a route out or an interface endpoint with private DNS), the role may kms:Decrypt with
//     the cluster's exec key when one is set, and the root filesystem is writable when session
//     logging is on. As on AWS, the agent still shows RUNNING and ExecuteCommand fails with
//     TargetNotConnectedException (EcsOptions::explain_exec_failures: STOPPED with the reason);
//   - an ECS agent older than 1.50.2 (EC2) or a platform older than 1.4.0 (Fargate) starts no
//     ExecuteCommandAgent at all.
// What troubleshooting reads, as ECS and CloudWatch Logs record it:
//   - containers with the awslogs driver have their output, line by line, in the group and
//     stream AWS would use (awslogs-stream-prefix/container/task-id); a missing group is created
//     when awslogs-create-group is "true", else the task stops before it starts;
//   - a container's `memory` (hard limit, MiB) is enforced by polling the private resident memory
//     of its process tree (process runtime): over it, the tree is killed (exit code 137) and the
//     container's reason is OutOfMemoryError, as the kernel's OOM killer does on AWS;
//   - healthCheck commands run in the container (interval, timeout, retries, startPeriod); a
//     service replaces a task whose essential container turns UNHEALTHY;
//   - stopped tasks stay describable for an hour; the deployment circuit breaker fails a
//     deployment after 3 failed tasks and, with rollback, rolls back to the last completed one.
//
// Scenario keys (see sandbox/README.md): "clusters", "task_definitions", "services", "network".
//
// The files: ecs_model.hpp (the model; its statuses in ecs_status.hpp), ecs_module_impl.hpp
// (the module's class) with ecs_module.cpp (time, SSM targets, task definitions),
// ecs_routes.cpp (the API), task_lifecycle.cpp, container_watch.cpp (logs, memory, health
// checks), service_scheduler.cpp (deployments), exec_agent_rules.hpp (when ECS Exec works: pure)
// with exec_agent_facts.cpp (its facts, gathered), ecs_shapes.cpp (the JSON ECS answers with),
// ecs_persistence.cpp (state file and scenarios), ecs_support.hpp (JSON fields, ARNs, errors).

#include "sandbox/api.hpp"
#include "sandbox/logs/logs_module.hpp"
#include "sandbox/runtime/task_runtime.hpp"
#include "sandbox/ssm/agent_gateway.hpp"
#include "sandbox/ssm/sessions.hpp"
#include "sandbox/ssm/ssm_module.hpp"

#include <memory>
#include <string>

namespace ecsh::sandbox::ecs {

struct EcsOptions {
  std::string container_path;  // PATH inside containers
  std::string log_dir;         // container stdout/stderr files; empty: discarded
  // AWS reports a container's ExecuteCommandAgent RUNNING (or absent) whatever keeps it from
  // connecting, and ExecuteCommand then fails with TargetNotConnectedException. When set, the
  // agent is STOPPED with the reason instead (for ecsh demo; no diagnosis may rely on it).
  bool explain_exec_failures = false;
  // Where containers with the awslogs log driver send their stdout/stderr (null: nowhere).
  logs::LogsModule* logs = nullptr;
  // --agent-binaries: each RUNNING ExecuteCommandAgent is a real SSM agent (agent_gateway.hpp);
  // ExecuteCommand needs its control channel open. Unset: the built-in agent.
  struct ExternalAgents {
    std::function<void(const ssm::ExternalAgentTarget&)> start;
    std::function<void(const std::string& task_id)> stop;
    std::function<bool(const std::string& target)> connected;
  };
  ExternalAgents external_agents;
};

class EcsModule : public ServiceModule {
 public:
  // Where an SSM target "ecs:<cluster>_<taskId>_<runtimeId>" leads.
  virtual std::optional<ssm::TargetInfo> resolve_target(const std::string& target) const = 0;
  virtual std::vector<ssm::ManagedInstance> managed_instances() const = 0;
  virtual std::size_t running_tasks() const = 0;
};

std::unique_ptr<EcsModule> make_ecs_module(runtime::TaskRuntime& runtime,
                                           ssm::SessionRegistry& sessions, EcsOptions options);

}  // namespace ecsh::sandbox::ecs
