#include "sandbox/ecs/exec_agent_rules.hpp"

#include "ecsh/common/version.hpp"

namespace ecsh::sandbox::ecs {
namespace {

// The first ECS agent with ECS Exec.
constexpr std::string_view kMinExecAgent = "1.50.2";

// Why the ECS agent or the platform cannot run ECS Exec at all ("" when it can).
std::string unsupported(const ExecPlatform& p) {
  if (p.launch_type == "FARGATE" && compare_versions(p.platform_version, "1.4.0") < 0) {
    return "Platform version " + p.platform_version +
           " does not support ECS Exec (1.4.0 or later needed)";
  }
  if (p.launch_type == "EC2" && p.ecs_agent_version &&
      compare_versions(*p.ecs_agent_version, kMinExecAgent) < 0) {
    return "ECS agent " + *p.ecs_agent_version + " does not support ECS Exec (" +
           std::string(kMinExecAgent) + " or later needed)";
  }
  if (p.launch_type == "EC2" && !p.instance_has_exec_binaries) {
    return "The container instance has no ECS Exec binaries (/var/lib/ecs/deps/execute-command), "
           "so the ECS agent starts no ExecuteCommandAgent";
  }
  return {};
}

struct ConnectionProblem {
  std::string text;      // empty: the agent connects
  bool network = false;  // ssmmessages is out of reach: the agent keeps retrying
};

ConnectionProblem connection_problem(const ExecAgentFacts& f) {
  ConnectionProblem p;
  // The agent acts as the task role, the only credentials it takes.
  const std::string& role = f.credentials.task_role_arn;
  if (role.empty()) {
    p.text = "The ExecuteCommandAgent has no credentials: the task has no task role";
    return p;
  }
  for (std::string_view action : kExecAgentSsmActions) {
    if (!f.allowed_actions.contains(action)) {
      p.text = "AccessDeniedException: " + role + " (the task role) is not authorized to perform " +
               std::string(action);
      return p;
    }
  }
  if (!f.kms_key_arn.empty() && !f.allowed_actions.contains(std::string_view("kms:Decrypt"))) {
    p.text = "AccessDeniedException: " + role + " is not authorized to perform kms:Decrypt on " +
             f.kms_key_arn;
    return p;
  }
  if (f.session_logging && f.read_only_root) {
    p.text = "The ExecuteCommandAgent cannot write its session logs: read-only file system";
    return p;
  }
  if (!f.route_out && !f.ssmmessages_endpoint) {
    p.text =
        "The ExecuteCommandAgent cannot reach ssmmessages: the subnet has no route out and the "
        "VPC no ssmmessages endpoint with private DNS";
    p.network = true;
  }
  return p;
}

}  // namespace

bool is_guardduty_sidecar(std::string_view image) {
  return image.find("guardduty") != std::string_view::npos;
}

bool instance_offers_exec(std::string_view ecs_agent_version, bool has_exec_binaries) {
  return has_exec_binaries && compare_versions(ecs_agent_version, kMinExecAgent) >= 0;
}

ExecAgentDecision decide_exec_agent(const ExecAgentFacts& facts, AgentReporting reporting) {
  ExecAgentDecision d;
  if (!facts.exec_enabled) {
    d.problem = "The task was run without enableExecuteCommand";
    return d;
  }
  if (is_guardduty_sidecar(facts.image)) {
    d.problem = "The container is a GuardDuty sidecar, which runs no ExecuteCommandAgent";
    return d;
  }
  const bool explain = reporting == AgentReporting::explained;
  if (std::string why = unsupported(facts.platform); !why.empty()) {
    // AWS lists no managed agent at all.
    d.problem = why;
    if (explain) {
      d.listed = true;
      d.status = AgentStatus::stopped;
      d.reason = why;
    }
    return d;
  }
  d.listed = true;
  if (!facts.pid_namespace_agent_in.empty()) {
    // The agent started here finds the namespace's one agent already running and never
    // connects; AWS still lists it RUNNING.
    d.problem = "pidMode task: the task's one ExecuteCommandAgent runs in container " +
                facts.pid_namespace_agent_in + ", not in this one";
    d.status = explain ? AgentStatus::stopped : AgentStatus::running;
    if (explain) d.reason = d.problem;
    return d;
  }
  ConnectionProblem p = connection_problem(facts);
  d.connects = p.text.empty();
  d.problem = p.text;
  if (p.text.empty() || p.network || !explain) {
    d.status = AgentStatus::running;
  } else {
    d.status = AgentStatus::stopped;
    d.reason = p.text;
  }
  return d;
}

}  // namespace ecsh::sandbox::ecs
