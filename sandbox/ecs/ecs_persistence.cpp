// The ECS module's part of the state file (what survives a restart: clusters, task
// definitions, services with their primary deployment, the network; not tasks, which are
// processes of one run) and of scenario files ("clusters", "task_definitions", "services",
// "network", "secret_values"; see sandbox/README.md).

#include "sandbox/ecs/ecs_module_impl.hpp"

#include "sandbox/core/time_format.hpp"

namespace ecsh::sandbox::ecs {

json::value Ecs::save() const {
  json::object o;
  json::array clusters;
  for (const auto& [n, c] : clusters_) {
    json::array instances;
    for (const auto& [id, i] : c.instances) {
      instances.push_back(json::object{{"id", i.id},
                                       {"arn", i.arn},
                                       {"ec2_instance_id", i.ec2_instance_id},
                                       {"agent_version", i.agent_version},
                                       {"agent_hash", i.agent_hash},
                                       {"docker_version", i.docker_version},
                                       {"instance_role_arn", i.instance_role_arn},
                                       {"subnet_id", i.subnet_id},
                                       {"private_ip", i.private_ip},
                                       {"ssm_managed", i.ssm_managed},
                                       {"exec_binaries", i.exec_binaries},
                                       {"registered", epoch_seconds(i.registered)}});
    }
    clusters.push_back(json::object{{"name", c.name},
                                    {"arn", c.arn},
                                    {"region", c.region},
                                    {"exec_config", c.exec_config},
                                    {"instances", instances},
                                    {"tags", c.tags},
                                    {"created", epoch_seconds(c.created)}});
  }
  o["clusters"] = clusters;
  json::object defs;
  for (const auto& [f, revs] : task_defs_) {
    json::array a;
    for (const auto& d : revs) a.push_back(d);
    defs[f] = a;
  }
  o["task_definitions"] = defs;
  json::array services;
  for (const auto& [k, s] : services_) {
    json::array deployments, subnets;
    for (const auto& d : s.deployments) {
      deployments.push_back(json::object{{"id", d.id},
                                         {"status", wire_name(d.status)},
                                         {"task_definition", d.task_definition},
                                         {"rollout_state", wire_name(d.rollout_state)},
                                         {"rollout_reason", d.rollout_reason},
                                         {"desired", d.desired},
                                         {"failed", d.failed},
                                         {"platform_version", d.platform_version},
                                         {"created", epoch_seconds(d.created)},
                                         {"updated", epoch_seconds(d.updated)}});
    }
    for (const auto& n : s.subnets) subnets.emplace_back(n);
    services.push_back(json::object{{"name", s.name},
                                    {"arn", s.arn},
                                    {"cluster", s.cluster},
                                    {"region", s.region},
                                    {"task_definition", s.task_definition},
                                    {"launch_type", s.launch_type},
                                    {"platform_version", s.platform_version},
                                    {"status", wire_name(s.status)},
                                    {"desired", s.desired},
                                    {"enable_execute_command", s.enable_execute_command},
                                    {"circuit_breaker", s.circuit_breaker},
                                    {"rollback", s.rollback},
                                    {"max_percent", s.max_percent},
                                    {"min_healthy", s.min_healthy},
                                    {"completed_deployment", s.completed_deployment},
                                    {"completed_task_definition", s.completed_task_definition},
                                    {"subnets", subnets},
                                    {"deployments", deployments},
                                    {"events", s.events},
                                    {"tags", s.tags},
                                    {"created_by", s.created_by},
                                    {"created", epoch_seconds(s.created)}});
  }
  o["services"] = services;
  json::object net;
  for (const auto& [id, sn] : subnets_)
    net[id] = json::object{{"vpc_id", sn.vpc_id}, {"route_out", sn.route_out}};
  o["subnets"] = net;
  json::array eps;
  for (const auto& v : endpoint_vpcs_) eps.emplace_back(v);
  o["endpoint_vpcs"] = eps;
  json::object secret_values;
  for (const auto& [from, value] : secret_values_) secret_values[from] = value;
  o["secret_values"] = std::move(secret_values);
  // Tasks are processes of this sandbox run: after a restart they are gone (stopped), and the
  // services start replacements.
  json::array stopped;
  for (const auto& [id, t] : tasks_) {
    if (t.last_status == TaskStatus::stopped || t.group.empty()) continue;
  }
  o["tasks"] = stopped;
  return o;
}

void Ecs::load(const json::value& v) {
  if (!v.is_object()) return;
  const auto& o = v.as_object();
  auto tp = [](const json::object& j, const char* key) {
    auto* x = j.if_contains(key);
    double secs = x && x->is_number() ? x->to_number<double>() : 0;
    return TimePoint(std::chrono::milliseconds(static_cast<std::int64_t>(secs * 1000)));
  };
  if (auto* cs = get_arr(o, "clusters")) {
    for (const auto& cv : *cs) {
      const auto& j = cv.as_object();
      Cluster c;
      c.name = get(j, "name");
      c.arn = get(j, "arn");
      c.region = get(j, "region");
      if (auto* e = get_obj(j, "exec_config")) c.exec_config = *e;
      if (auto* t = get_arr(j, "tags")) c.tags = *t;
      c.created = tp(j, "created");
      if (auto* is = get_arr(j, "instances")) {
        for (const auto& iv : *is) {
          const auto& ij = iv.as_object();
          ContainerInstance i;
          i.id = get(ij, "id");
          i.arn = get(ij, "arn");
          i.ec2_instance_id = get(ij, "ec2_instance_id");
          i.agent_version = get(ij, "agent_version");
          i.agent_hash = get(ij, "agent_hash", i.agent_hash);
          i.docker_version = get(ij, "docker_version", i.docker_version);
          i.instance_role_arn = get(ij, "instance_role_arn");
          i.subnet_id = get(ij, "subnet_id");
          i.private_ip = get(ij, "private_ip");
          i.ssm_managed = get_bool(ij, "ssm_managed", true);
          i.exec_binaries = get_bool(ij, "exec_binaries", true);
          i.registered = tp(ij, "registered");
          c.instances[i.id] = i;
        }
      }
      clusters_[c.name] = std::move(c);
    }
  }
  if (auto* defs = get_obj(o, "task_definitions")) {
    for (const auto& [f, revs] : *defs) {
      auto& out = task_defs_[std::string(f)];
      if (!revs.is_array()) continue;
      for (const auto& d : revs.as_array()) {
        if (d.is_object()) out.push_back(d.as_object());
      }
    }
  }
  if (auto* ss = get_arr(o, "services")) {
    for (const auto& sv : *ss) {
      const auto& j = sv.as_object();
      Service s;
      s.name = get(j, "name");
      s.arn = get(j, "arn");
      s.cluster = get(j, "cluster");
      s.region = get(j, "region");
      s.task_definition = get(j, "task_definition");
      s.launch_type = get(j, "launch_type");
      s.platform_version = get(j, "platform_version");
      s.status = parse_service_status(get(j, "status")).value_or(ServiceStatus::inactive);
      s.desired = static_cast<int>(get_int(j, "desired"));
      s.enable_execute_command = get_bool(j, "enable_execute_command");
      s.circuit_breaker = get_bool(j, "circuit_breaker", true);
      s.rollback = get_bool(j, "rollback");
      s.max_percent = static_cast<int>(get_int(j, "max_percent", 200));
      s.min_healthy = static_cast<int>(get_int(j, "min_healthy", 100));
      s.completed_deployment = get(j, "completed_deployment");
      s.completed_task_definition = get(j, "completed_task_definition");
      s.created_by = get(j, "created_by");
      s.created = tp(j, "created");
      if (auto* n = get_arr(j, "subnets")) {
        for (const auto& x : *n) {
          if (x.is_string()) s.subnets.emplace_back(x.as_string());
        }
      }
      if (auto* e = get_arr(j, "events")) s.events = *e;
      if (auto* t = get_arr(j, "tags")) s.tags = *t;
      if (auto* ds = get_arr(j, "deployments")) {
        for (const auto& dv : *ds) {
          const auto& dj = dv.as_object();
          Deployment d;
          d.id = get(dj, "id");
          d.status = parse_deployment_status(get(dj, "status")).value_or(DeploymentStatus::active);
          d.task_definition = get(dj, "task_definition");
          d.rollout_state =
              parse_rollout_state(get(dj, "rollout_state")).value_or(RolloutState::in_progress);
          d.rollout_reason = get(dj, "rollout_reason");
          d.desired = static_cast<int>(get_int(dj, "desired"));
          d.failed = static_cast<int>(get_int(dj, "failed"));
          d.platform_version = get(dj, "platform_version");
          d.launch_type = s.launch_type;
          d.created = tp(dj, "created");
          d.updated = tp(dj, "updated");
          s.deployments.push_back(d);
        }
      }
      // Only the primary deployment survives a restart; the scheduler starts its tasks again.
      if (s.deployments.size() > 1) s.deployments.resize(1);
      services_[s.cluster + "/" + s.name] = std::move(s);
    }
  }
  if (auto* net = get_obj(o, "subnets")) {
    for (const auto& [id, sv] : *net) {
      if (!sv.is_object()) continue;
      Subnet sn;
      sn.vpc_id = get(sv.as_object(), "vpc_id");
      sn.route_out = get_bool(sv.as_object(), "route_out", true);
      subnets_[std::string(id)] = sn;
    }
  }
  if (auto* eps = get_arr(o, "endpoint_vpcs")) {
    for (const auto& e : *eps) {
      if (e.is_string()) endpoint_vpcs_.insert(std::string(e.as_string()));
    }
  }
  if (auto* sv = get_obj(o, "secret_values")) {
    for (const auto& [from, value] : *sv) {
      if (value.is_string()) secret_values_[std::string(from)] = std::string(value.as_string());
    }
  }
}

ApiResult<void> Ecs::apply_scenario(const json::object& scenario) {
  const std::string region = get(scenario, "region", "us-east-1");
  if (auto* sv = get_obj(scenario, "secret_values")) {
    for (const auto& [from, value] : *sv) {
      if (value.is_string()) secret_values_[std::string(from)] = std::string(value.as_string());
    }
  }
  if (auto* net = get_obj(scenario, "network")) {
    if (auto* subnets = get_arr(*net, "subnets")) {
      for (const auto& v : *subnets) {
        if (!v.is_object()) continue;
        Subnet s;
        s.vpc_id = get(v.as_object(), "vpc_id", "vpc-0ec5a0d0000000001");
        s.route_out =
            get_bool(v.as_object(), "route_to_internet", true) || get_bool(v.as_object(), "nat");
        subnets_[get(v.as_object(), "id")] = s;
      }
    }
    if (auto* eps = get_arr(*net, "vpc_endpoints")) {
      for (const auto& v : *eps) {
        if (!v.is_object()) continue;
        std::string service = get(v.as_object(), "service_name");
        if (service.ends_with(".ssmmessages") &&
            get_bool(v.as_object(), "private_dns_enabled", true)) {
          endpoint_vpcs_.insert(get(v.as_object(), "vpc_id", "vpc-0ec5a0d0000000001"));
        }
      }
    }
  }
  if (auto* cs = get_arr(scenario, "clusters")) {
    for (const auto& v : *cs) {
      if (!v.is_object()) continue;
      const auto& j = v.as_object();
      Cluster c;
      c.name = get(j, "name", "default");
      c.region = get(j, "region", region);
      c.arn = arn(c.region, "cluster/" + c.name);
      c.created = now();
      if (auto* e = get_obj(j, "execute_command_configuration")) c.exec_config = *e;
      if (auto* cis = get_arr(j, "container_instances")) {
        for (const auto& iv : *cis) {
          if (!iv.is_object()) continue;
          const auto& ij = iv.as_object();
          ContainerInstance i;
          i.id = hex_id(16);
          i.arn = arn(c.region, "container-instance/" + c.name + "/" + i.id);
          i.ec2_instance_id = get(ij, "instance_id", "i-" + hex_id(9).substr(0, 17));
          i.agent_version = get(ij, "agent_version", "1.80.0");
          i.instance_role_arn = get(ij, "instance_role_arn");
          i.subnet_id = get(ij, "subnet_id", "subnet-0ec5a0d0000000001");
          i.private_ip = get(ij, "private_ip");
          i.ssm_managed = get_bool(ij, "ssm_managed", true);
          i.exec_binaries = get_bool(ij, "exec_binaries", true);
          i.registered = now();
          c.instances[i.id] = i;
        }
      }
      clusters_[c.name] = std::move(c);
    }
  }
  if (auto* defs = get_arr(scenario, "task_definitions")) {
    for (const auto& v : *defs) {
      if (!v.is_object()) continue;
      auto r = register_task_definition(v.as_object(), region,
                                        "arn:aws:iam::" + std::string(kAccount) + ":root");
      if (!r) return r.error();
    }
  }
  if (auto* ss = get_arr(scenario, "services")) {
    for (const auto& v : *ss) {
      if (!v.is_object()) continue;
      const auto& j = v.as_object();
      Service s;
      s.name = get(j, "name");
      s.cluster = get(j, "cluster", "default");
      if (!clusters_.count(s.cluster))
        return invalid("scenario: service " + s.name + " names an unknown cluster");
      s.region = clusters_[s.cluster].region;
      s.arn = arn(s.region, "service/" + s.cluster + "/" + s.name);
      const auto* def = task_definition(get(j, "task_definition"));
      if (!def) return invalid("scenario: service " + s.name + " names an unknown task definition");
      s.task_definition = get(*def, "taskDefinitionArn");
      s.desired = static_cast<int>(get_int(j, "desired_count", 1));
      s.launch_type =
          get(j, "launch_type", clusters_[s.cluster].instances.empty() ? "FARGATE" : "EC2");
      s.platform_version = get(j, "platform_version", "LATEST");
      s.enable_execute_command = get_bool(j, "enable_execute_command");
      if (auto* cb = get_obj(j, "circuit_breaker")) {
        s.circuit_breaker = get_bool(*cb, "enable", true);
        s.rollback = get_bool(*cb, "rollback");
      }
      if (auto* n = get_arr(j, "subnet_ids")) {
        for (const auto& x : *n) {
          if (x.is_string()) s.subnets.emplace_back(x.as_string());
        }
      }
      s.created_by = "arn:aws:iam::" + std::string(kAccount) + ":root";
      s.created = now();
      Deployment d = new_deployment(s);
      s.deployments.push_back(d);
      services_[s.cluster + "/" + s.name] = std::move(s);
    }
  }
  return outcome::success();
}

}  // namespace ecsh::sandbox::ecs
