#include "ecsh/connect/via.hpp"

#include "ecsh/connect/instance_exec.hpp"
#include "ecsh/ecs/exec_readiness.hpp"

namespace ecsh::connect {
namespace {

// Why ECS Exec cannot reach this container, from what DescribeTasks said.
std::string why_ecs_exec_is_impossible(const ecs::ResolvedTarget& t, const Error& e) {
  const auto readiness = ecs::exec_readiness(t.task, t.container);
  switch (readiness.blocker) {
    case ecs::ExecBlocker::exec_not_enabled:
      return "task " + t.task.id +
             " was started without enableExecuteCommand, and that cannot change while it runs "
             "(only a new deployment, `ecsh enable`, brings tasks that accept ECS Exec)";
    case ecs::ExecBlocker::agent_pending:
    case ecs::ExecBlocker::agent_stopped:
    case ecs::ExecBlocker::agent_status_unknown: {
      std::string s = "the ExecuteCommandAgent of container " + t.container.name + " is " +
                      std::string(ecs::name(readiness.agent_status));
      if (!readiness.agent_reason.empty()) s += ": " + readiness.agent_reason;
      return s + " (`ecsh doctor` says why)";
    }
    default:
      return e.message;
  }
}

}  // namespace

std::optional<Via> parse_via(std::string_view name) {
  if (name == "auto") return Via::automatic;
  if (name == "ecs") return Via::ecs;
  if (name == "ec2") return Via::ec2;
  return std::nullopt;
}

bool ecs_exec_refused(const Error& e) {
  return e.kind == ErrorKind::service &&
         (e.code == "InvalidParameterException" || e.code == "TargetNotConnectedException");
}

std::optional<std::string> instance_fallback(Via via, const ecs::ResolvedTarget& target,
                                             const Error& error) {
  if (via != Via::automatic || !ecs_exec_refused(error)) return std::nullopt;
  if (method2_unavailable(target)) return std::nullopt;
  return why_ecs_exec_is_impossible(target, error);
}

}  // namespace ecsh::connect
