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
//
// Scenario keys (see sandbox/README.md): "clusters", "task_definitions", "services", "network".

#include "sandbox/api.hpp"
#include "sandbox/runtime/process_runtime.hpp"
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
