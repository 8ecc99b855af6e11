#include "ecsh/connect/via.hpp"

#include "ecsh/connect/instance_exec.hpp"

namespace ecsh::connect {
namespace {

// Why ECS Exec cannot reach this container, from what DescribeTasks said.
std::string why_ecs_exec_is_impossible(const ecs::ResolvedTarget& t, const Error& e) {
  if (!t.task.enable_execute_command) {
    return "task " + t.task.id +
           " was started without enableExecuteCommand, and that cannot change while it runs "
           "(only a new deployment, `ecsh enable`, brings tasks that accept ECS Exec)";
  }
  if (t.container.exec_agent_status && *t.container.exec_agent_status != "RUNNING") {
    std::string s = "the ExecuteCommandAgent of container " + t.container.name + " is " +
                    *t.container.exec_agent_status;
    if (!t.container.exec_agent_reason.empty()) s += ": " + t.container.exec_agent_reason;
    return s + " (`ecsh doctor` says why)";
  }
  return e.message;
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
