// The ECS API of the sandbox (JSON 1.1, X-Amz-Target AmazonEC2ContainerServiceV20141113.*):
// clusters, task definitions, services, tasks, container instances, ExecuteCommand and tags,
// each authorised as AWS does and answering with AWS's errors.

#include "sandbox/ecs/ecs_module_impl.hpp"

#include "ecsh/common/crypto.hpp"
#include "sandbox/core/time_format.hpp"

#include <algorithm>

namespace ecsh::sandbox::ecs {

void Ecs::register_routes(Router& router) {
  auto add = [&router](std::string op, JsonHandler h) {
    router.add_json("ecs", kTargetPrefix, std::move(op), std::move(h));
  };
  auto cluster_arn_of = [this](const RequestContext& ctx, const std::string& name) {
    return arn(ctx.region, "cluster/" + name);
  };

  add("CreateCluster",
      [this, cluster_arn_of](RequestContext& ctx,
                             const json::object& req) -> ApiResult<json::value> {
        std::string name = get(req, "clusterName", "default");
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:CreateCluster", cluster_arn_of(ctx, name)));
        auto& c = clusters_[name];
        if (c.name.empty()) {
          c.name = name;
          c.region = ctx.region;
          c.arn = cluster_arn_of(ctx, name);
          c.created = now();
        }
        if (auto* conf = get_obj(req, "configuration")) {
          if (auto* ecc = get_obj(*conf, "executeCommandConfiguration")) c.exec_config = *ecc;
        }
        if (auto* tags = get_arr(req, "tags")) c.tags = *tags;
        ctx.mutated = true;
        return json::object{{"cluster", cluster_json(c, true)}};
      });
  add("UpdateCluster",
      [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        BOOST_OUTCOME_TRY(auto* c, find_cluster(req, ctx));
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:UpdateCluster", c->arn));
        if (auto* conf = get_obj(req, "configuration")) {
          if (auto* ecc = get_obj(*conf, "executeCommandConfiguration")) c->exec_config = *ecc;
        }
        ctx.mutated = true;
        return json::object{{"cluster", cluster_json(*c, true)}};
      });
  add("DescribeClusters",
      [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:DescribeClusters", "*"));
        bool configurations = false;
        if (auto* inc = get_arr(req, "include")) {
          for (const auto& i : *inc)
            configurations |= i.is_string() && i.as_string() == "CONFIGURATIONS";
        }
        json::array clusters, failures;
        std::vector<std::string> names;
        if (auto* a = get_arr(req, "clusters")) {
          for (const auto& n : *a) {
            if (n.is_string()) names.emplace_back(n.as_string());
          }
        } else {
          names.push_back("default");
        }
        for (const auto& n : names) {
          auto it = clusters_.find(last_segment(n));
          if (it == clusters_.end() || it->second.region != ctx.region) {
            failures.push_back(
                json::object{{"arn", n.starts_with("arn:") ? n : arn(ctx.region, "cluster/" + n)},
                             {"reason", "MISSING"}});
          } else {
            clusters.push_back(cluster_json(it->second, configurations));
          }
        }
        return json::object{{"clusters", clusters}, {"failures", failures}};
      });
  add("ListClusters",
      [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:ListClusters", "*"));
        json::array arns;
        for (const auto& [n, c] : clusters_) {
          if (c.region == ctx.region) arns.emplace_back(c.arn);
        }
        return list_page(std::move(arns), req, "clusterArns", 100);
      });
  add("DeleteCluster",
      [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        BOOST_OUTCOME_TRY(auto* c, find_cluster(req, ctx));
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:DeleteCluster", c->arn));
        for (const auto& [k, s] : services_) {
          if (s.cluster == c->name && s.status == ServiceStatus::active) {
            return ApiError::client("ClusterContainsServicesException",
                                    "The Cluster cannot be deleted while Services are active.");
          }
        }
        for (const auto& [id, t] : tasks_) {
          if (t.cluster == c->name && t.last_status != TaskStatus::stopped) {
            return ApiError::client("ClusterContainsTasksException",
                                    "The Cluster cannot be deleted while Tasks are active.");
          }
        }
        auto out = cluster_json(*c, false);
        out["status"] = "INACTIVE";
        clusters_.erase(c->name);
        ctx.mutated = true;
        return json::object{{"cluster", out}};
      });

  add("RegisterTaskDefinition",
      [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:RegisterTaskDefinition", "*"));
        BOOST_OUTCOME_TRY(auto def, register_task_definition(req, ctx.region, ctx.caller.arn));
        ctx.mutated = true;
        return json::object{{"taskDefinition", def}, {"tags", json::array{}}};
      });
  add("DescribeTaskDefinition",
      [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:DescribeTaskDefinition", "*"));
        const auto* def = task_definition(get(req, "taskDefinition"));
        if (!def) return ApiError::client("ClientException", "Unable to describe task definition.");
        return json::object{{"taskDefinition", *def}, {"tags", json::array{}}};
      });
  add("ListTaskDefinitions",
      [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:ListTaskDefinitions", "*"));
        // Despite its name, familyPrefix is the full family name (as in AWS).
        std::string wanted = get(req, "familyPrefix");
        std::string status = get(req, "status", "ACTIVE");
        json::array arns;
        for (const auto& [family, revs] : task_defs_) {
          if (!wanted.empty() && family != wanted) continue;
          for (const auto& d : revs) {
            if (get(d, "status") == status) arns.emplace_back(get(d, "taskDefinitionArn"));
          }
        }
        return list_page(std::move(arns), req, "taskDefinitionArns", 100);
      });
  add("DeregisterTaskDefinition",
      [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:DeregisterTaskDefinition", "*"));
        auto* def = const_cast<json::object*>(task_definition(get(req, "taskDefinition")));
        if (!def)
          return ApiError::client("ClientException",
                                  "The specified task definition does not exist.");
        (*def)["status"] = "INACTIVE";
        (*def)["deregisteredAt"] = epoch_seconds(now());
        ctx.mutated = true;
        return json::object{{"taskDefinition", *def}};
      });

  add("CreateService",
      [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        BOOST_OUTCOME_TRY(auto* c, find_cluster(req, ctx));
        std::string name = get(req, "serviceName");
        if (name.empty()) return invalid("Service name must be specified.");
        std::string service_arn = arn(ctx.region, "service/" + c->name + "/" + name);
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:CreateService", service_arn));
        auto key = c->name + "/" + name;
        if (services_.count(key) && services_[key].status == ServiceStatus::active) {
          return invalid("Creation of service was not idempotent.");
        }
        const auto* def = task_definition(get(req, "taskDefinition"));
        if (!def) return invalid("TaskDefinition not found.");
        Service s;
        s.name = name;
        s.arn = service_arn;
        s.cluster = c->name;
        s.region = ctx.region;
        s.task_definition = get(*def, "taskDefinitionArn");
        s.desired = static_cast<int>(get_int(req, "desiredCount", 0));
        s.launch_type = get(req, "launchType", c->instances.empty() ? "FARGATE" : "EC2");
        s.platform_version = get(req, "platformVersion", "LATEST");
        s.enable_execute_command = get_bool(req, "enableExecuteCommand");
        s.created_by = ctx.caller.arn;
        s.created = now();
        if (auto* nc = get_obj(req, "networkConfiguration")) {
          if (auto* aws = get_obj(*nc, "awsvpcConfiguration")) {
            if (auto* subnets = get_arr(*aws, "subnets")) {
              for (const auto& n : *subnets) {
                if (n.is_string()) s.subnets.emplace_back(n.as_string());
              }
            }
          }
        }
        if (auto* dc = get_obj(req, "deploymentConfiguration")) {
          s.max_percent = static_cast<int>(get_int(*dc, "maximumPercent", 200));
          s.min_healthy = static_cast<int>(get_int(*dc, "minimumHealthyPercent", 100));
          if (auto* cb = get_obj(*dc, "deploymentCircuitBreaker")) {
            s.circuit_breaker = get_bool(*cb, "enable", true);
            s.rollback = get_bool(*cb, "rollback");
          }
        }
        if (auto* tags = get_arr(req, "tags")) s.tags = *tags;
        Deployment d = new_deployment(s);
        s.deployments.push_back(d);
        services_[key] = std::move(s);
        ctx.mutated = true;
        return json::object{{"service", service_json(services_[key])}};
      });
  auto find_service = [this](const RequestContext& ctx, const json::object& req,
                             const std::string& field) -> ApiResult<Service*> {
    std::string cluster = last_segment(get(req, "cluster", "default"));
    auto cit = clusters_.find(cluster);
    if (cit == clusters_.end() || cit->second.region != ctx.region) return cluster_not_found();
    auto it = services_.find(cluster + "/" + last_segment(get(req, field)));
    if (it == services_.end() || it->second.status == ServiceStatus::inactive) {
      return ApiError::client("ServiceNotFoundException", "Service not found.");
    }
    return &it->second;
  };
  add("UpdateService",
      [this, find_service](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        BOOST_OUTCOME_TRY(auto* s, find_service(ctx, req, "service"));
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:UpdateService", s->arn));
        bool start_deployment = get_bool(req, "forceNewDeployment");
        if (req.contains("desiredCount"))
          s->desired = static_cast<int>(get_int(req, "desiredCount", s->desired));
        if (auto* dc = get_obj(req, "deploymentConfiguration")) {
          s->max_percent = static_cast<int>(get_int(*dc, "maximumPercent", s->max_percent));
          s->min_healthy = static_cast<int>(get_int(*dc, "minimumHealthyPercent", s->min_healthy));
          if (auto* cb = get_obj(*dc, "deploymentCircuitBreaker")) {
            s->circuit_breaker = get_bool(*cb, "enable", true);
            s->rollback = get_bool(*cb, "rollback");
          }
        }
        if (auto* e = req.if_contains("enableExecuteCommand"); e && e->is_bool()) {
          s->enable_execute_command = e->as_bool();
        }
        if (auto td = get(req, "taskDefinition"); !td.empty()) {
          const auto* def = task_definition(td);
          if (!def) return invalid("TaskDefinition not found.");
          if (get(*def, "taskDefinitionArn") != s->task_definition) {
            s->task_definition = get(*def, "taskDefinitionArn");
            start_deployment = true;
          }
        }
        if (auto pv = get(req, "platformVersion"); !pv.empty() && pv != s->platform_version) {
          s->platform_version = pv;
          start_deployment = true;
        }
        if (start_deployment) {
          for (auto& d : s->deployments) d.status = DeploymentStatus::active;
          Deployment d = new_deployment(*s);
          s->deployments.insert(s->deployments.begin(), d);
        }
        ctx.mutated = true;
        return json::object{{"service", service_json(*s)}};
      });
  add("DescribeServices",
      [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        std::string cluster = last_segment(get(req, "cluster", "default"));
        auto cit = clusters_.find(cluster);
        if (cit == clusters_.end() || cit->second.region != ctx.region) return cluster_not_found();
        json::array services, failures;
        if (auto* names = get_arr(req, "services")) {
          for (const auto& n : *names) {
            if (!n.is_string()) continue;
            std::string name = last_segment(n.as_string());
            auto it = services_.find(cluster + "/" + name);
            std::string service_arn = arn(ctx.region, "service/" + cluster + "/" + name);
            BOOST_OUTCOME_TRY(ctx.authorize("ecs:DescribeServices", service_arn));
            if (it == services_.end()) {
              failures.push_back(json::object{{"arn", service_arn}, {"reason", "MISSING"}});
            } else {
              services.push_back(service_json(it->second));
            }
          }
        }
        return json::object{{"services", services}, {"failures", failures}};
      });
  add("ListServices",
      [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        std::string cluster = last_segment(get(req, "cluster", "default"));
        auto cit = clusters_.find(cluster);
        if (cit == clusters_.end() || cit->second.region != ctx.region) return cluster_not_found();
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:ListServices", "*"));
        json::array arns;
        for (const auto& [k, s] : services_) {
          if (s.cluster == cluster && s.status == ServiceStatus::active) arns.emplace_back(s.arn);
        }
        return list_page(std::move(arns), req, "serviceArns", 10);
      });
  add("DeleteService",
      [this, find_service](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        BOOST_OUTCOME_TRY(auto* s, find_service(ctx, req, "service"));
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:DeleteService", s->arn));
        if (s->desired > 0 && !get_bool(req, "force")) {
          return invalid("The service cannot be stopped while it is scaled above 0.");
        }
        s->status = ServiceStatus::draining;
        s->desired = 0;
        for (auto& [id, t] : tasks_) {
          if (t.group == "service:" + s->name && t.cluster == s->cluster) {
            request_stop(t, "Service deleted", "ServiceSchedulerInitiated");
          }
        }
        ctx.mutated = true;
        return json::object{{"service", service_json(*s)}};
      });

  auto run_task = [this](RequestContext& ctx, const json::object& req,
                         const std::string& op) -> ApiResult<json::value> {
    BOOST_OUTCOME_TRY(auto* c, find_cluster(req, ctx));
    const auto* def = task_definition(get(req, "taskDefinition"));
    if (!def) return invalid("TaskDefinition not found.");
    BOOST_OUTCOME_TRY(ctx.authorize("ecs:" + op, get(*def, "taskDefinitionArn")));
    int count = static_cast<int>(get_int(req, "count", 1));
    if (count < 1 || count > 10) return invalid("count must be between 1 and 10.");
    std::string launch_type = get(req, "launchType", c->instances.empty() ? "FARGATE" : "EC2");
    std::string subnet;
    if (auto* nc = get_obj(req, "networkConfiguration")) {
      if (auto* aws = get_obj(*nc, "awsvpcConfiguration")) {
        if (auto* subnets = get_arr(*aws, "subnets");
            subnets && !subnets->empty() && (*subnets)[0].is_string()) {
          subnet = std::string((*subnets)[0].as_string());
        }
      }
    }
    // AWS places no awsvpc task without its subnets.
    if (subnet.empty() && get(*def, "networkMode") == "awsvpc") {
      return invalid(
          "Network Configuration must be provided when networkMode 'awsvpc' is specified.");
    }
    std::string role;
    if (auto* ov = get_obj(req, "overrides")) role = get(*ov, "taskRoleArn");
    std::string instance;
    if (auto* cis = get_arr(req, "containerInstances");
        cis && !cis->empty() && (*cis)[0].is_string()) {
      instance = std::string((*cis)[0].as_string());
      launch_type = "EC2";
    }
    json::array tasks;
    for (int i = 0; i < count; ++i) {
      BOOST_OUTCOME_TRY(auto* t,
                        launch(c->name, *def, get(req, "group", "family:" + get(*def, "family")),
                               get(req, "startedBy"), launch_type, get(req, "platformVersion"),
                               get_bool(req, "enableExecuteCommand"), subnet, role, instance, ""));
      if (auto* tags = get_arr(req, "tags")) t->tags = *tags;
      tasks.push_back(task_json(*t));
    }
    ctx.mutated = true;
    return json::object{{"tasks", tasks}, {"failures", json::array{}}};
  };
  add("RunTask", [run_task](RequestContext& ctx, const json::object& req) {
    return run_task(ctx, req, "RunTask");
  });
  add("StartTask", [run_task](RequestContext& ctx, const json::object& req) {
    return run_task(ctx, req, "StartTask");
  });
  auto find_task = [this](const RequestContext& ctx, const json::object& req) -> ApiResult<Task*> {
    std::string cluster = last_segment(get(req, "cluster", "default"));
    auto cit = clusters_.find(cluster);
    if (cit == clusters_.end() || cit->second.region != ctx.region) return cluster_not_found();
    auto it = tasks_.find(last_segment(get(req, "task")));
    if (it == tasks_.end() || it->second.cluster != cluster) {
      return invalid("The referenced task was not found.");
    }
    return &it->second;
  };
  add("StopTask",
      [this, find_task](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        BOOST_OUTCOME_TRY(auto* t, find_task(ctx, req));
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:StopTask", t->arn));
        request_stop(*t, get(req, "reason", "Task stopped by user"), "UserInitiated");
        ctx.mutated = true;
        return json::object{{"task", task_json(*t)}};
      });
  add("ListTasks", [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
    std::string cluster = last_segment(get(req, "cluster", "default"));
    auto cit = clusters_.find(cluster);
    if (cit == clusters_.end() || cit->second.region != ctx.region) return cluster_not_found();
    BOOST_OUTCOME_TRY(ctx.authorize("ecs:ListTasks", cit->second.instances.empty() ? "*" : "*"));
    std::string service = get(req, "serviceName");
    std::string family = get(req, "family");
    std::string desired = get(req, "desiredStatus", "RUNNING");
    std::string launch_type = get(req, "launchType");
    std::string instance = get(req, "containerInstance");
    std::string started_by = get(req, "startedBy");
    json::array arns;
    for (const auto& [id, t] : tasks_) {
      if (t.cluster != cluster) continue;
      if (!service.empty() && t.group != "service:" + last_segment(service)) continue;
      if (!family.empty() &&
          t.task_definition_arn.find("task-definition/" + family + ":") == std::string::npos)
        continue;
      if (desired == "STOPPED" ? t.desired_status != TaskStatus::stopped
                               : t.desired_status == TaskStatus::stopped)
        continue;
      if (!launch_type.empty() && t.launch_type != launch_type) continue;
      if (!instance.empty() && t.container_instance_arn != instance &&
          last_segment(t.container_instance_arn) != instance)
        continue;
      if (!started_by.empty() && t.started_by != started_by) continue;
      arns.emplace_back(t.arn);
    }
    return list_page(std::move(arns), req, "taskArns", 100);
  });
  add("DescribeTasks",
      [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        std::string cluster = last_segment(get(req, "cluster", "default"));
        auto cit = clusters_.find(cluster);
        if (cit == clusters_.end() || cit->second.region != ctx.region) return cluster_not_found();
        json::array tasks, failures;
        if (auto* ids = get_arr(req, "tasks")) {
          if (ids->size() > 100) return invalid("Tasks cannot be more than 100.");
          for (const auto& v : *ids) {
            if (!v.is_string()) continue;
            std::string id = last_segment(v.as_string());
            auto it = tasks_.find(id);
            std::string task_arn = arn(ctx.region, "task/" + cluster + "/" + id);
            BOOST_OUTCOME_TRY(ctx.authorize("ecs:DescribeTasks", task_arn));
            if (it == tasks_.end() || it->second.cluster != cluster) {
              failures.push_back(
                  json::object{{"arn", std::string(v.as_string())}, {"reason", "MISSING"}});
            } else {
              tasks.push_back(task_json(it->second));
            }
          }
        } else {
          return invalid("Tasks cannot be empty.");
        }
        return json::object{{"tasks", tasks}, {"failures", failures}};
      });

  add("RegisterContainerInstance",
      [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        // The operation declares no ClusterNotFoundException: a missing cluster is a
        // ClientException.
        auto found = find_cluster(req, ctx);
        if (!found) return ApiError::client("ClientException", "Cluster not found.");
        auto* c = found.value();
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:RegisterContainerInstance", c->arn));
        ContainerInstance i;
        i.id = hex_id(16);
        i.arn = arn(ctx.region, "container-instance/" + c->name + "/" + i.id);
        i.ec2_instance_id = "i-" + hex_id(9).substr(0, 17);
        // The agent sends the instance's identity document; the instance ID comes from it.
        boost::system::error_code ec;
        auto doc = json::parse(get(req, "instanceIdentityDocument"), ec);
        if (!ec && doc.is_object()) {
          i.ec2_instance_id = get(doc.as_object(), "instanceId", i.ec2_instance_id);
          i.private_ip = get(doc.as_object(), "privateIp");
        }
        if (auto* vi = get_obj(req, "versionInfo")) {
          i.agent_version = get(*vi, "agentVersion", i.agent_version);
          i.agent_hash = get(*vi, "agentHash", i.agent_hash);
          i.docker_version = get(*vi, "dockerVersion", i.docker_version);
        }
        i.subnet_id = "subnet-0ec5a0d0000000001";
        i.registered = now();
        c->instances[i.id] = i;
        ctx.mutated = true;
        return json::object{{"containerInstance", instance_json(*c, i)}};
      });
  add("ListContainerInstances",
      [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        BOOST_OUTCOME_TRY(auto* c, find_cluster(req, ctx));
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:ListContainerInstances", c->arn));
        json::array arns;
        for (const auto& [id, i] : c->instances) arns.emplace_back(i.arn);
        return list_page(std::move(arns), req, "containerInstanceArns", 100);
      });
  add("DescribeContainerInstances",
      [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        BOOST_OUTCOME_TRY(auto* c, find_cluster(req, ctx));
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:DescribeContainerInstances", c->arn));
        json::array out, failures;
        if (auto* ids = get_arr(req, "containerInstances")) {
          for (const auto& v : *ids) {
            if (!v.is_string()) continue;
            auto it = c->instances.find(last_segment(v.as_string()));
            if (it == c->instances.end()) {
              failures.push_back(
                  json::object{{"arn", std::string(v.as_string())}, {"reason", "MISSING"}});
            } else {
              out.push_back(instance_json(*c, it->second));
            }
          }
        }
        return json::object{{"containerInstances", out}, {"failures", failures}};
      });

  add("ExecuteCommand",
      [this, find_task](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        BOOST_OUTCOME_TRY(auto* t, find_task(ctx, req));
        const auto& cl = clusters_.at(t->cluster);
        std::string container_name = get(req, "container");
        const Container* container = nullptr;
        if (container_name.empty()) {
          if (t->containers.size() != 1) {
            return invalid(
                "Container name must be specified when the task has more than one container.");
          }
          container = &t->containers.front();
        } else {
          for (const auto& c : t->containers) {
            if (c.name == container_name) container = &c;
          }
          if (!container)
            return invalid("The container " + container_name + " does not exist in the task.");
        }
        ConditionContext conditions{
            {"ecs:cluster", cl.arn}, {"ecs:container-name", container->name}, {"ecs:task", t->arn}};
        BOOST_OUTCOME_TRY(
            ctx.authorize("ecs:ExecuteCommand", t->arn, "AccessDeniedException", conditions));
        if (!get_bool(req, "interactive"))
          return invalid("Interactive is the only mode supported currently.");
        std::string command = get(req, "command");
        if (command.empty()) return invalid("Command must be specified.");
        if (t->last_status != TaskStatus::running || !t->enable_execute_command ||
            !container->agent || container->agent->status != AgentStatus::running) {
          return invalid(kNotEnabled);
        }
        // The agent runs but never connected (no route, or credentials that may not use
        // ssmmessages, KMS or the logs): AWS's opaque answer.
        // With a real agent (--agent-binaries), it must also have opened its control channel.
        const std::string target = "ecs:" + t->cluster + "_" + t->id + "_" + container->runtime_id;
        if (!agent_connects(*t, *container) ||
            (options_.external_agents.connected && !options_.external_agents.connected(target))) {
          return ApiError::client(
              "TargetNotConnectedException",
              "The execute command failed due to an internal error. Try again later.");
        }
        // The caller needs kms:GenerateDataKey when the cluster encrypts sessions (checked by KMS
        // when the client asks for the data key).
        ssm::SessionRecord r;
        r.target = target;
        r.owner_arn = ctx.caller.arn;
        r.region = ctx.region;
        r.task_id = t->id;
        r.container = container->name;
        r.document = "AmazonECS-ExecuteInteractiveCommand";
        r.command = command;
        r.kms_key_arn = kms_arn(cl);
        r.log_group = log_group(cl);
        r.created = now();
        auto& s = sessions_.create(std::move(r), "ecs-execute-command-");
        json::object container_out{
            {"containerArn",
             arn(ctx.region, "container/" + t->cluster + "/" + t->id + "/" +
                                 crypto::sha256_hex(t->id + container->name).substr(0, 32))}};
        return json::object{{"clusterArn", cl.arn},
                            {"containerArn", container_out["containerArn"]},
                            {"containerName", container->name},
                            {"interactive", true},
                            {"session", json::object{{"sessionId", s.session_id},
                                                     {"streamUrl", ctx.stream_url(s.session_id)},
                                                     {"tokenValue", s.token}}},
                            {"taskArn", t->arn}};
      });

  auto tags_of = [this](const std::string& resource) -> json::array* {
    std::string name = last_segment(resource);
    if (resource.find(":cluster/") != std::string::npos && clusters_.count(name))
      return &clusters_[name].tags;
    if (resource.find(":task/") != std::string::npos && tasks_.count(name))
      return &tasks_[name].tags;
    if (resource.find(":service/") != std::string::npos) {
      for (auto& [k, s] : services_) {
        if (s.arn == resource) return &s.tags;
      }
    }
    return nullptr;
  };
  add("TagResource",
      [tags_of](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        std::string resource = get(req, "resourceArn");
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:TagResource", resource));
        auto* tags = tags_of(resource);
        if (!tags)
          return ApiError::client("ResourceNotFoundException",
                                  "The specified resource is not found.");
        if (auto* add_tags = get_arr(req, "tags")) {
          for (const auto& t : *add_tags) {
            if (!t.is_object()) continue;
            std::string key = get(t.as_object(), "key");
            tags->erase(std::remove_if(tags->begin(), tags->end(),
                                       [&](const json::value& x) {
                                         return x.is_object() && get(x.as_object(), "key") == key;
                                       }),
                        tags->end());
            tags->push_back(t);
          }
        }
        ctx.mutated = true;
        return json::object{};
      });
  add("UntagResource",
      [tags_of](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        std::string resource = get(req, "resourceArn");
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:UntagResource", resource));
        auto* tags = tags_of(resource);
        if (!tags)
          return ApiError::client("ResourceNotFoundException",
                                  "The specified resource is not found.");
        if (auto* keys = get_arr(req, "tagKeys")) {
          for (const auto& k : *keys) {
            if (!k.is_string()) continue;
            tags->erase(std::remove_if(tags->begin(), tags->end(),
                                       [&](const json::value& x) {
                                         return x.is_object() &&
                                                get(x.as_object(), "key") == k.as_string();
                                       }),
                        tags->end());
          }
        }
        ctx.mutated = true;
        return json::object{};
      });
  add("ListTagsForResource",
      [tags_of](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        std::string resource = get(req, "resourceArn");
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:ListTagsForResource", resource));
        auto* tags = tags_of(resource);
        // Unlike Tag/UntagResource, this operation declares no ResourceNotFoundException.
        if (!tags && resource.find(":cluster/") != std::string::npos) return cluster_not_found();
        if (!tags) return invalid("The specified resource is not found.");
        return json::object{{"tags", *tags}};
      });
}

}  // namespace ecsh::sandbox::ecs
