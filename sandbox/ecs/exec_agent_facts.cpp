// The ECS module's side of ECS Exec: the facts exec_agent_rules.hpp decides from, gathered from
// the task, its task definition, its cluster, IAM and the network; and the agents a starting
// task's containers get.

#include "sandbox/ecs/ecs_module_impl.hpp"

namespace ecsh::sandbox::ecs {

void Ecs::decide_agents(Task& t, TimePoint now_tp) {
  const AgentReporting reporting =
      options_.explain_exec_failures ? AgentReporting::explained : AgentReporting::as_aws;
  for (auto& c : t.containers) {
    ExecAgentDecision d = decide_exec_agent(exec_agent_facts(t, c), reporting);
    if (!d.listed) continue;
    // Whatever keeps a supported agent from connecting, ExecuteCommand finds out when it is
    // called (agent_connects): the agent keeps retrying, so a fixed role lets it connect.
    Agent a;
    a.started = now_tp;
    a.status = d.status;
    a.reason = d.reason;
    c.agent = a;
  }
}

ssm::ExternalAgentTarget Ecs::external_agent_target(const Task& t, const Container& c) const {
  ssm::ExternalAgentTarget x;
  x.target = "ecs:" + t.cluster + "_" + t.id + "_" + c.runtime_id;
  x.task_id = t.id;
  x.container = c.name;
  x.runtime_id = c.runtime_id;
  x.task_arn = t.arn;
  x.region = t.region;
  x.availability_zone = t.region + "a";
  x.family = family_of(t.task_definition_arn);
  x.revision = revision_of(t.task_definition_arn);
  x.image = c.image;
  const auto cl = clusters_.find(t.cluster);
  const ContainerInstance* instance = nullptr;
  if (cl != clusters_.end()) {
    x.cluster_arn = cl->second.arn;
    for (const auto& [id, i] : cl->second.instances) {
      if (i.arn == t.container_instance_arn) instance = &i;
    }
  }
  // The role the task's credentials endpoint serves, as exec_agent_facts() reads it.
  const json::object* def = task_definition(t.task_definition_arn);
  x.role_arn = t.override_role;
  if (x.role_arn.empty() && def) x.role_arn = get(*def, "taskRoleArn");
  if (t.launch_type == "EC2" && x.role_arn.empty() && instance) {
    x.role_arn = instance->instance_role_arn;
  }
  return x;
}

void Ecs::start_external_agents(const Task& t) {
  if (!options_.external_agents.start) return;
  for (const auto& c : t.containers) {
    if (c.agent && c.agent->status == AgentStatus::running && !c.runtime_id.empty()) {
      options_.external_agents.start(external_agent_target(t, c));
    }
  }
}

bool Ecs::agent_connects(const Task& t, const Container& c) const {
  const AgentReporting reporting =
      options_.explain_exec_failures ? AgentReporting::explained : AgentReporting::as_aws;
  return decide_exec_agent(exec_agent_facts(t, c), reporting).connects;
}

ExecAgentFacts Ecs::exec_agent_facts(const Task& t, const Container& c) const {
  ExecAgentFacts f;
  f.exec_enabled = t.enable_execute_command;
  f.image = c.image;
  const auto cl = clusters_.find(t.cluster);
  const ContainerInstance* instance = nullptr;
  if (cl != clusters_.end()) {
    for (const auto& [id, i] : cl->second.instances) {
      if (i.arn == t.container_instance_arn) instance = &i;
    }
  }
  f.platform.launch_type = t.launch_type;
  f.platform.platform_version = t.platform_version;
  if (instance) {
    f.platform.ecs_agent_version = instance->agent_version;
    f.platform.instance_has_exec_binaries = instance->exec_binaries;
  }

  // The task role: the run's override, else the task definition's, else on EC2 the instance's.
  const json::object* def = task_definition(t.task_definition_arn);
  std::string role = t.override_role;
  if (role.empty() && def) role = get(*def, "taskRoleArn");
  if (t.launch_type == "EC2" && role.empty() && instance) role = instance->instance_role_arn;
  // Without IAM in the sandbox, no credentials are valid and no role can be used.
  // AWS keys in the container's environment play no part: the agent ignores them.
  if (env_.iam) f.credentials.task_role_arn = role;

  if (cl != clusters_.end()) {
    f.kms_key_arn = kms_arn(cl->second);
    f.session_logging = logging_on(cl->second);
  }
  const std::string& principal = f.credentials.task_role_arn;  // whom the agent acts as
  if (!principal.empty()) {
    for (std::string_view action : kExecAgentSsmActions) {
      if (env_.iam->evaluate(principal, action, "*", {}).allowed()) {
        f.allowed_actions.emplace(action);
      }
    }
    if (!f.kms_key_arn.empty() &&
        env_.iam->evaluate(principal, "kms:Decrypt", f.kms_key_arn, {}).allowed()) {
      f.allowed_actions.emplace("kms:Decrypt");
    }
  }
  if (def) {
    for (const auto& cv : *get_arr(*def, "containerDefinitions")) {
      if (cv.is_object() && get(cv.as_object(), "name") == c.name &&
          get_bool(cv.as_object(), "readonlyRootFilesystem")) {
        f.read_only_root = true;
      }
    }
  }

  // pidMode task: one agent for the task's PID namespace, in the first container that can have
  // one (AWS does not say which).
  if (def && get(*def, "pidMode") == "task") {
    for (const auto& other : t.containers) {
      if (is_guardduty_sidecar(other.image)) continue;
      if (other.name != c.name) f.pid_namespace_agent_in = other.name;
      break;
    }
  }

  auto sn = subnets_.find(t.subnet_id);
  f.route_out = sn == subnets_.end() ? true : sn->second.route_out;
  f.ssmmessages_endpoint = sn != subnets_.end() && endpoint_vpcs_.count(sn->second.vpc_id) > 0;
  return f;
}

}  // namespace ecsh::sandbox::ecs
