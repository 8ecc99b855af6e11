#include "ecsh/ecs/ecs_view.hpp"

#include <boost/json.hpp>

namespace ecsh::ecs {
namespace json = boost::json;

namespace {

std::string str_of(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

int int_of(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_int64() ? static_cast<int>(v->as_int64()) : 0;
}

bool bool_of(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

const json::array* array_of(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_array() ? &v->as_array() : nullptr;
}

std::vector<std::string> strings_of(const json::array& a) {
  std::vector<std::string> out;
  for (const auto& v : a) {
    if (v.is_string()) out.emplace_back(v.as_string());
  }
  return out;
}

}  // namespace

std::string arn_name(std::string_view arn) {
  auto slash = arn.rfind('/');
  return std::string(slash == std::string_view::npos ? arn : arn.substr(slash + 1));
}

std::string TaskView::service_name() const {
  return group.starts_with("service:") ? group.substr(8) : std::string();
}

TaskView parse_task(const json::object& t) {
  TaskView v;
  v.arn = str_of(t, "taskArn");
  v.id = arn_name(v.arn);
  v.cluster_arn = str_of(t, "clusterArn");
  v.task_definition_arn = str_of(t, "taskDefinitionArn");
  v.last_status = str_of(t, "lastStatus");
  v.desired_status = str_of(t, "desiredStatus");
  v.launch_type = str_of(t, "launchType");
  v.platform_version = str_of(t, "platformVersion");
  v.container_instance_arn = str_of(t, "containerInstanceArn");
  v.group = str_of(t, "group");
  v.stopped_reason = str_of(t, "stoppedReason");
  v.stop_code = str_of(t, "stopCode");
  v.health_status = str_of(t, "healthStatus");
  if (auto* s = t.if_contains("stoppedAt"); s && s->is_number())
    v.stopped_at = s->to_number<double>();
  if (auto* s = t.if_contains("createdAt"); s && s->is_number())
    v.created_at = s->to_number<double>();
  v.enable_execute_command = bool_of(t, "enableExecuteCommand");
  if (auto* o = t.if_contains("overrides"); o && o->is_object()) {
    v.override_task_role_arn = str_of(o->as_object(), "taskRoleArn");
  }
  if (auto* atts = array_of(t, "attachments")) {
    for (const auto& a : *atts) {
      if (!a.is_object()) continue;
      if (auto* details = array_of(a.as_object(), "details")) {
        for (const auto& d : *details) {
          if (d.is_object() && str_of(d.as_object(), "name") == "subnetId") {
            v.subnet_id = str_of(d.as_object(), "value");
          }
        }
      }
    }
  }
  if (auto* s = t.if_contains("startedAt"); s && s->is_number()) {
    v.started_at = s->to_number<double>();
  }
  if (auto* cs = array_of(t, "containers")) {
    for (const auto& c : *cs) {
      if (!c.is_object()) continue;
      const auto& co = c.as_object();
      ContainerView cv;
      cv.name = str_of(co, "name");
      cv.runtime_id = str_of(co, "runtimeId");
      cv.last_status = str_of(co, "lastStatus");
      cv.image = str_of(co, "image");
      cv.reason = str_of(co, "reason");
      cv.health_status = str_of(co, "healthStatus");
      if (auto* e = co.if_contains("exitCode"); e && e->is_int64()) {
        cv.exit_code = static_cast<int>(e->as_int64());
      }
      if (auto* agents = array_of(co, "managedAgents")) {
        for (const auto& a : *agents) {
          if (!a.is_object() || str_of(a.as_object(), "name") != "ExecuteCommandAgent") continue;
          cv.exec_agent_status = str_of(a.as_object(), "lastStatus");
          cv.exec_agent_reason = str_of(a.as_object(), "reason");
        }
      }
      v.containers.push_back(std::move(cv));
    }
  }
  return v;
}

ServiceView parse_service(const json::object& s) {
  ServiceView v;
  v.arn = str_of(s, "serviceArn");
  v.name = str_of(s, "serviceName");
  v.cluster_arn = str_of(s, "clusterArn");
  v.status = str_of(s, "status");
  v.task_definition = str_of(s, "taskDefinition");
  v.launch_type = str_of(s, "launchType");
  v.platform_version = str_of(s, "platformVersion");
  v.enable_execute_command = bool_of(s, "enableExecuteCommand");
  v.desired_count = int_of(s, "desiredCount");
  v.running_count = int_of(s, "runningCount");
  v.pending_count = int_of(s, "pendingCount");
  if (auto* ds = array_of(s, "deployments")) {
    for (const auto& d : *ds) {
      if (!d.is_object()) continue;
      const auto& o = d.as_object();
      ServiceView::Deployment dep;
      dep.id = str_of(o, "id");
      dep.status = str_of(o, "status");
      dep.rollout_state = str_of(o, "rolloutState");
      dep.rollout_state_reason = str_of(o, "rolloutStateReason");
      dep.task_definition = str_of(o, "taskDefinition");
      dep.desired = int_of(o, "desiredCount");
      dep.running = int_of(o, "runningCount");
      dep.pending = int_of(o, "pendingCount");
      dep.failed = int_of(o, "failedTasks");
      if (auto* x = o.if_contains("createdAt"); x && x->is_number())
        dep.created_at = x->to_number<double>();
      if (auto* x = o.if_contains("updatedAt"); x && x->is_number())
        dep.updated_at = x->to_number<double>();
      v.deployments.push_back(std::move(dep));
    }
  }
  if (auto* es = array_of(s, "events")) {
    for (const auto& e : *es) {
      if (!e.is_object()) continue;
      ServiceView::Event ev;
      ev.id = str_of(e.as_object(), "id");
      ev.message = str_of(e.as_object(), "message");
      if (auto* x = e.as_object().if_contains("createdAt"); x && x->is_number())
        ev.created_at = x->to_number<double>();
      v.events.push_back(std::move(ev));
    }
  }
  if (auto* dc = s.if_contains("deploymentConfiguration"); dc && dc->is_object()) {
    if (auto* cb = dc->as_object().if_contains("deploymentCircuitBreaker"); cb && cb->is_object()) {
      v.circuit_breaker = bool_of(cb->as_object(), "enable");
      v.rollback = bool_of(cb->as_object(), "rollback");
    }
  }
  return v;
}

Task<Result<std::vector<std::string>>> list_cluster_arns(aws::AwsClient& client) {
  json::object req;
  ECSH_CO_TRY(auto arr, co_await client.json_paginate(aws::services::ecs(), "ListClusters", req,
                                                      "clusterArns"));
  co_return strings_of(arr);
}

Task<Result<std::vector<std::string>>> list_service_arns(aws::AwsClient& client,
                                                         const std::string& cluster) {
  json::object req;
  req["cluster"] = cluster;
  ECSH_CO_TRY(auto arr, co_await client.json_paginate(aws::services::ecs(), "ListServices", req,
                                                      "serviceArns"));
  co_return strings_of(arr);
}

Task<Result<std::vector<std::string>>> list_task_arns(aws::AwsClient& client,
                                                      const std::string& cluster,
                                                      const std::string& service,
                                                      std::string_view desired_status) {
  json::object req;
  req["cluster"] = cluster;
  if (!service.empty()) req["serviceName"] = service;
  req["desiredStatus"] = desired_status.empty() ? std::string_view("RUNNING") : desired_status;
  ECSH_CO_TRY(auto arr,
              co_await client.json_paginate(aws::services::ecs(), "ListTasks", req, "taskArns"));
  co_return strings_of(arr);
}

Task<Result<std::vector<TaskView>>> describe_tasks(aws::AwsClient& client,
                                                   const std::string& cluster,
                                                   const std::vector<std::string>& task_arns) {
  std::vector<TaskView> out;
  for (std::size_t i = 0; i < task_arns.size(); i += 100) {
    json::object req;
    req["cluster"] = cluster;
    json::array tasks;
    for (std::size_t j = i; j < std::min(task_arns.size(), i + 100); ++j) {
      tasks.emplace_back(task_arns[j]);
    }
    req["tasks"] = std::move(tasks);
    ECSH_CO_TRY(auto resp, co_await client.json_call(aws::services::ecs(), "DescribeTasks", req));
    if (!resp.is_object()) continue;
    if (auto* arr = array_of(resp.as_object(), "tasks")) {
      for (const auto& t : *arr) {
        if (t.is_object()) out.push_back(parse_task(t.as_object()));
      }
    }
  }
  co_return out;
}

Task<Result<std::vector<ServiceView>>> describe_services(aws::AwsClient& client,
                                                         const std::string& cluster,
                                                         const std::vector<std::string>& names) {
  std::vector<ServiceView> out;
  for (std::size_t i = 0; i < names.size(); i += 10) {
    json::object req;
    req["cluster"] = cluster;
    json::array services;
    for (std::size_t j = i; j < std::min(names.size(), i + 10); ++j)
      services.emplace_back(names[j]);
    req["services"] = std::move(services);
    ECSH_CO_TRY(auto resp,
                co_await client.json_call(aws::services::ecs(), "DescribeServices", req));
    if (!resp.is_object()) continue;
    if (auto* arr = array_of(resp.as_object(), "services")) {
      for (const auto& s : *arr) {
        if (s.is_object()) out.push_back(parse_service(s.as_object()));
      }
    }
  }
  co_return out;
}

}  // namespace ecsh::ecs
