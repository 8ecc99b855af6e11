#include "ecsh/ecs/exec_readiness.hpp"

#include <algorithm>

namespace ecsh::ecs {
namespace {

bool any_agent(const TaskView& task) {
  return std::any_of(task.containers.begin(), task.containers.end(),
                     [](const ContainerView& c) { return c.exec_agent_status.has_value(); });
}

// What the task itself decides, before any container is looked at.
ExecReadiness task_level(const TaskView& task) {
  ExecReadiness r;
  r.task_status = task.last_status;
  if (task.last_status != TaskStatus::running) {
    // A task still starting that was asked to stop will never run. (A RUNNING task asked to
    // stop keeps its agent until its containers stop: still ready.)
    r.blocker = is_starting(task.last_status) && !is_ending(task.desired_status)
                    ? ExecBlocker::task_starting
                    : ExecBlocker::task_not_running;
  } else if (!task.enable_execute_command) {
    r.blocker = ExecBlocker::exec_not_enabled;
  } else if (!task.containers.empty() && !any_agent(task)) {
    r.blocker = ExecBlocker::no_agent_in_task;
  }
  return r;
}

}  // namespace

ExecReadiness exec_readiness(const TaskView& task, const ContainerView& container) {
  ExecReadiness r = task_level(task);
  r.container = container.name;
  if (container.exec_agent_status) r.agent_status = *container.exec_agent_status;
  r.agent_reason = container.exec_agent_reason;
  if (r.blocker != ExecBlocker::none) return r;
  if (!container.exec_agent_status) {
    r.blocker = ExecBlocker::no_agent;
    return r;
  }
  switch (*container.exec_agent_status) {
    case AgentStatus::running:
      break;
    case AgentStatus::pending:
      r.blocker = ExecBlocker::agent_pending;
      break;
    case AgentStatus::stopped:
      r.blocker = ExecBlocker::agent_stopped;
      break;
    case AgentStatus::unknown:
      r.blocker = ExecBlocker::agent_status_unknown;
      break;
  }
  return r;
}

ExecReadiness exec_readiness(const TaskView& task) {
  ExecReadiness first;
  bool have_first = false;
  for (const auto& c : task.containers) {
    ExecReadiness r = exec_readiness(task, c);
    if (r.ready()) return r;
    // Prefer a container that has an agent: a sidecar without one says little.
    if (!have_first && r.blocker != ExecBlocker::no_agent) {
      first = std::move(r);
      have_first = true;
    }
  }
  if (have_first) return first;
  ExecReadiness r = task_level(task);
  // Containers all without an agent are covered by no_agent_in_task; no containers at all
  // (not yet described) leaves nothing to exec into.
  if (r.blocker == ExecBlocker::none) r.blocker = ExecBlocker::no_agent_in_task;
  return r;
}

ExecVerdict ExecReadiness::verdict() const {
  switch (blocker) {
    case ExecBlocker::none:
      return ExecVerdict::ready;
    case ExecBlocker::task_starting:
    case ExecBlocker::agent_pending:
      return ExecVerdict::waiting;
    default:
      return ExecVerdict::blocked;
  }
}

std::string ExecReadiness::summary() const {
  auto agent = [this] {
    std::string s = "agent " + std::string(name(agent_status));
    return agent_reason.empty() ? s : s + ": " + agent_reason;
  };
  switch (blocker) {
    case ExecBlocker::none:
      return "ready";
    case ExecBlocker::task_starting:
    case ExecBlocker::task_not_running:
      return "task " + std::string(name(task_status));
    case ExecBlocker::exec_not_enabled:
      return "exec not enabled at launch";
    case ExecBlocker::no_agent_in_task:
      return "no exec agent in any container";
    case ExecBlocker::no_agent:
      return "no exec agent (sidecar)";
    case ExecBlocker::agent_pending:
    case ExecBlocker::agent_stopped:
    case ExecBlocker::agent_status_unknown:
      return agent();
  }
  return "unknown";
}

std::string_view verdict_name(ExecVerdict v) {
  switch (v) {
    case ExecVerdict::ready:
      return "ready";
    case ExecVerdict::waiting:
      return "waiting";
    case ExecVerdict::blocked:
      return "blocked";
  }
  return "blocked";
}

}  // namespace ecsh::ecs
