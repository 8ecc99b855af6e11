#pragma once

// Can ECS Exec get into this task or container right now, from what DescribeTasks shows? The one
// rule that ls, run, exec --via auto, doctor, enable and every later view ask. Pure.
//
// DescribeTasks cannot show every cause (a task role without ssmmessages, a network without a
// way to ssmmessages: doctor gathers those), so `ready` means "nothing visible here blocks it",
// and an agent that ECS lists RUNNING can still refuse (TargetNotConnectedException).

#include "ecsh/ecs/ecs_view.hpp"

#include <cstdint>
#include <string>

namespace ecsh::ecs {

// What stands in the way, most fundamental first (a task that does not run hides everything).
enum class ExecBlocker : std::uint8_t {
  none,                  // the container's ExecuteCommandAgent is RUNNING in a RUNNING task
  task_starting,         // PROVISIONING, PENDING or ACTIVATING: may still become ready
  task_not_running,      // stopping or stopped: never again
  exec_not_enabled,      // started without enableExecuteCommand, fixed at launch
  no_agent_in_task,      // exec enabled, yet no container has an agent (ECS agent, AMI or
                         // platform without ECS Exec)
  no_agent,              // this container has no agent (a sidecar such as GuardDuty's)
  agent_pending,         // the agent is starting: may still become ready
  agent_stopped,         // the agent gave up (its reason says why)
  agent_status_unknown,  // a status word ecsh does not know
};

// ready: exec can be tried; waiting: the task or its agent is still starting;
// blocked: not without a change (a new task, a fix doctor names).
enum class ExecVerdict : std::uint8_t { ready, waiting, blocked };

struct ExecReadiness {
  ExecBlocker blocker = ExecBlocker::none;
  TaskStatus task_status = TaskStatus::unknown;
  AgentStatus agent_status = AgentStatus::unknown;
  std::string container;     // the container meant ("" for a task without containers)
  std::string agent_reason;  // the agent's reason, when ECS gave one

  bool ready() const { return blocker == ExecBlocker::none; }
  ExecVerdict verdict() const;
  // Short, for a table cell: "ready", "task STOPPED", "exec not enabled at launch",
  // "agent STOPPED: <reason>", "no exec agent (sidecar)", "no exec agent in any container".
  std::string summary() const;
};

// One container of the task.
ExecReadiness exec_readiness(const TaskView& task, const ContainerView& container);
// The task as a whole: ready when any of its containers is; otherwise what blocks its first
// container that has an agent (or, when none has one, why none has).
ExecReadiness exec_readiness(const TaskView& task);

std::string_view verdict_name(ExecVerdict v);  // "ready", "waiting", "blocked"

}  // namespace ecsh::ecs
