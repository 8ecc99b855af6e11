#include "ecsh/ecs/ecs_view.hpp"

#include <boost/json.hpp>

#include <limits>

namespace ecsh::ecs {
namespace json = boost::json;

namespace {

// The most a List* call of ECS returns per page (ListServices returns 10 unless asked).
constexpr std::int64_t kMaxPage = 100;

// Epoch seconds as ECS writes them (a number, fractional).
Result<void> read_time(const JsonFields& o, std::string_view key, std::optional<double>& out) {
  ECSH_TRY(out, o.optional_number(key));
  return ok();
}

Result<void> read_int(const JsonFields& o, std::string_view key, int& out) {
  ECSH_TRY(auto n, o.int_or(key, 0));
  if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) {
    return Error::protocol(o.where(key) + " is out of range");
  }
  out = static_cast<int>(n);
  return ok();
}

// A status word, typed (status.hpp): absent is unknown, a word of another type an error.
template <typename Enum>
Result<void> read_status(const JsonFields& o, std::string_view key, Enum (*parse)(std::string_view),
                         Enum& out) {
  ECSH_TRY(auto word, o.string_or(key));
  out = parse(word);
  return ok();
}

}  // namespace

std::string arn_name(std::string_view arn) {
  auto slash = arn.rfind('/');
  return std::string(slash == std::string_view::npos ? arn : arn.substr(slash + 1));
}

std::string TaskView::service_name() const {
  return group.starts_with("service:") ? group.substr(8) : std::string();
}

Result<TaskView> parse_task(const JsonFields& t) {
  TaskView v;
  ECSH_TRY(v.arn, t.string("taskArn"));
  v.id = arn_name(v.arn);
  ECSH_TRY(v.cluster_arn, t.string_or("clusterArn"));
  ECSH_TRY(v.task_definition_arn, t.string_or("taskDefinitionArn"));
  ECSH_TRY(read_status(t, "lastStatus", parse_task_status, v.last_status));
  ECSH_TRY(read_status(t, "desiredStatus", parse_task_status, v.desired_status));
  ECSH_TRY(v.launch_type, t.string_or("launchType"));
  ECSH_TRY(v.platform_version, t.string_or("platformVersion"));
  ECSH_TRY(v.container_instance_arn, t.string_or("containerInstanceArn"));
  ECSH_TRY(v.group, t.string_or("group"));
  ECSH_TRY(v.stopped_reason, t.string_or("stoppedReason"));
  ECSH_TRY(v.stop_code, t.string_or("stopCode"));
  ECSH_TRY(read_status(t, "healthStatus", parse_health_status, v.health_status));
  ECSH_TRY(read_time(t, "stoppedAt", v.stopped_at));
  ECSH_TRY(read_time(t, "createdAt", v.created_at));
  ECSH_TRY(read_time(t, "startedAt", v.started_at));
  ECSH_TRY(v.enable_execute_command, t.bool_or("enableExecuteCommand", false));
  ECSH_TRY(auto overrides, t.optional_object("overrides"));
  if (overrides) {
    ECSH_TRY(v.override_task_role_arn, overrides->string_or("taskRoleArn"));
  }
  ECSH_TRY(auto attachments, t.objects("attachments"));
  for (const auto& a : attachments) {
    ECSH_TRY(auto details, a.objects("details"));
    for (const auto& d : details) {
      ECSH_TRY(auto name, d.string_or("name"));
      if (name == "subnetId") {
        ECSH_TRY(v.subnet_id, d.string_or("value"));
      }
    }
  }
  ECSH_TRY(auto containers, t.objects("containers"));
  for (const auto& c : containers) {
    ContainerView cv;
    ECSH_TRY(cv.name, c.string("name"));
    ECSH_TRY(cv.runtime_id, c.string_or("runtimeId"));
    ECSH_TRY(read_status(c, "lastStatus", parse_task_status, cv.last_status));
    ECSH_TRY(cv.image, c.string_or("image"));
    ECSH_TRY(cv.reason, c.string_or("reason"));
    ECSH_TRY(read_status(c, "healthStatus", parse_health_status, cv.health_status));
    ECSH_TRY(auto exit_code, c.optional_int("exitCode"));
    if (exit_code) cv.exit_code = static_cast<int>(*exit_code);
    ECSH_TRY(auto agents, c.objects("managedAgents"));
    for (const auto& a : agents) {
      ECSH_TRY(auto name, a.string_or("name"));
      if (name != "ExecuteCommandAgent") continue;
      AgentStatus status = AgentStatus::unknown;
      ECSH_TRY(read_status(a, "lastStatus", parse_agent_status, status));
      cv.exec_agent_status = status;
      ECSH_TRY(cv.exec_agent_reason, a.string_or("reason"));
    }
    v.containers.push_back(std::move(cv));
  }
  return v;
}

Result<ServiceView> parse_service(const JsonFields& s) {
  ServiceView v;
  ECSH_TRY(v.arn, s.string_or("serviceArn"));
  ECSH_TRY(v.name, s.string("serviceName"));
  ECSH_TRY(v.cluster_arn, s.string_or("clusterArn"));
  ECSH_TRY(v.status, s.string_or("status"));
  ECSH_TRY(v.task_definition, s.string_or("taskDefinition"));
  ECSH_TRY(v.launch_type, s.string_or("launchType"));
  ECSH_TRY(v.platform_version, s.string_or("platformVersion"));
  ECSH_TRY(v.enable_execute_command, s.bool_or("enableExecuteCommand", false));
  ECSH_TRY(read_int(s, "desiredCount", v.desired_count));
  ECSH_TRY(read_int(s, "runningCount", v.running_count));
  ECSH_TRY(read_int(s, "pendingCount", v.pending_count));
  ECSH_TRY(auto deployments, s.objects("deployments"));
  for (const auto& o : deployments) {
    ServiceView::Deployment dep;
    ECSH_TRY(dep.id, o.string_or("id"));
    ECSH_TRY(read_status(o, "status", parse_deployment_status, dep.status));
    ECSH_TRY(read_status(o, "rolloutState", parse_rollout_state, dep.rollout_state));
    ECSH_TRY(dep.rollout_state_reason, o.string_or("rolloutStateReason"));
    ECSH_TRY(dep.task_definition, o.string_or("taskDefinition"));
    ECSH_TRY(read_int(o, "desiredCount", dep.desired));
    ECSH_TRY(read_int(o, "runningCount", dep.running));
    ECSH_TRY(read_int(o, "pendingCount", dep.pending));
    ECSH_TRY(read_int(o, "failedTasks", dep.failed));
    ECSH_TRY(read_time(o, "createdAt", dep.created_at));
    ECSH_TRY(read_time(o, "updatedAt", dep.updated_at));
    v.deployments.push_back(std::move(dep));
  }
  ECSH_TRY(auto events, s.objects("events"));
  for (const auto& e : events) {
    ServiceView::Event ev;
    ECSH_TRY(ev.id, e.string_or("id"));
    ECSH_TRY(ev.message, e.string_or("message"));
    ECSH_TRY(read_time(e, "createdAt", ev.created_at));
    v.events.push_back(std::move(ev));
  }
  ECSH_TRY(auto config, s.optional_object("deploymentConfiguration"));
  if (config) {
    ECSH_TRY(auto breaker, config->optional_object("deploymentCircuitBreaker"));
    if (breaker) {
      ECSH_TRY(v.circuit_breaker, breaker->bool_or("enable", false));
      ECSH_TRY(v.rollback, breaker->bool_or("rollback", false));
    }
  }
  return v;
}

Result<ClusterView> parse_cluster(const JsonFields& c) {
  ClusterView v;
  ECSH_TRY(v.arn, c.string_or("clusterArn"));
  ECSH_TRY(read_status(c, "status", parse_cluster_status, v.status));
  ECSH_TRY(v.active_services, c.int_or("activeServicesCount", 0));
  ECSH_TRY(v.running_tasks, c.int_or("runningTasksCount", 0));
  ECSH_TRY(v.pending_tasks, c.int_or("pendingTasksCount", 0));
  ECSH_TRY(auto configuration, c.optional_object("configuration"));
  if (!configuration) return v;
  ECSH_TRY(auto exec, configuration->optional_object("executeCommandConfiguration"));
  if (!exec) return v;
  ECSH_TRY(v.exec_kms_key_id, exec->string_or("kmsKeyId"));
  ECSH_TRY(v.exec_logging, exec->string_or("logging"));
  ECSH_TRY(auto logs, exec->optional_object("logConfiguration"));
  if (logs) {
    ECSH_TRY(v.exec_log_group, logs->string_or("cloudWatchLogGroupName"));
    ECSH_TRY(v.exec_s3_bucket, logs->string_or("s3BucketName"));
  }
  return v;
}

Result<std::vector<TaskView>> parse_describe_tasks(const boost::json::object& response) {
  JsonFields r(response, "the DescribeTasks response");
  ECSH_TRY(auto tasks, r.objects("tasks"));
  std::vector<TaskView> out;
  for (const auto& t : tasks) {
    ECSH_TRY(auto view, parse_task(t));
    out.push_back(std::move(view));
  }
  return out;
}

Result<std::vector<ServiceView>> parse_describe_services(const boost::json::object& response) {
  JsonFields r(response, "the DescribeServices response");
  ECSH_TRY(auto services, r.objects("services"));
  std::vector<ServiceView> out;
  for (const auto& s : services) {
    ECSH_TRY(auto view, parse_service(s));
    out.push_back(std::move(view));
  }
  return out;
}

Result<std::vector<ClusterView>> parse_describe_clusters(const boost::json::object& response) {
  JsonFields r(response, "the DescribeClusters response");
  ECSH_TRY(auto clusters, r.objects("clusters"));
  std::vector<ClusterView> out;
  for (const auto& c : clusters) {
    ECSH_TRY(auto view, parse_cluster(c));
    out.push_back(std::move(view));
  }
  return out;
}

Result<std::vector<ContainerInstanceView>> parse_describe_container_instances(
    const boost::json::object& response) {
  JsonFields r(response, "the DescribeContainerInstances response");
  ECSH_TRY(auto instances, r.objects("containerInstances"));
  std::vector<ContainerInstanceView> out;
  for (const auto& i : instances) {
    ContainerInstanceView v;
    ECSH_TRY(v.arn, i.string_or("containerInstanceArn"));
    ECSH_TRY(v.ec2_instance_id, i.string_or("ec2InstanceId"));
    ECSH_TRY(auto version, i.optional_object("versionInfo"));
    if (version) {
      ECSH_TRY(v.agent_version, version->string_or("agentVersion"));
    }
    ECSH_TRY(auto attributes, i.objects("attributes"));
    for (const auto& a : attributes) {
      ECSH_TRY(auto name, a.string("name"));
      ECSH_TRY(auto value, a.string_or("value"));
      v.attributes.emplace_back(std::move(name), std::move(value));
    }
    out.push_back(std::move(v));
  }
  return out;
}

Awaitable<Result<std::vector<std::string>>> list_cluster_arns(aws::AwsClient& client) {
  json::object req;
  req["maxResults"] = kMaxPage;
  ECSH_CO_TRY(auto arr, co_await client.json_paginate(aws::services::ecs(), "ListClusters", req,
                                                      "clusterArns"));
  co_return json_strings(arr, "the ListClusters response: clusterArns");
}

Awaitable<Result<std::vector<std::string>>> list_service_arns(aws::AwsClient& client,
                                                              const std::string& cluster) {
  json::object req;
  req["cluster"] = cluster;
  req["maxResults"] = kMaxPage;  // ListServices pages by 10 unless asked for more
  ECSH_CO_TRY(auto arr, co_await client.json_paginate(aws::services::ecs(), "ListServices", req,
                                                      "serviceArns"));
  co_return json_strings(arr, "the ListServices response: serviceArns");
}

Awaitable<Result<std::vector<std::string>>> list_task_arns(aws::AwsClient& client,
                                                           const std::string& cluster,
                                                           const std::string& service,
                                                           TaskStatus desired_status) {
  json::object req;
  req["cluster"] = cluster;
  if (!service.empty()) req["serviceName"] = service;
  // ListTasks filters on RUNNING, PENDING or STOPPED.
  req["desiredStatus"] =
      name(desired_status == TaskStatus::unknown ? TaskStatus::running : desired_status);
  req["maxResults"] = kMaxPage;
  ECSH_CO_TRY(auto arr,
              co_await client.json_paginate(aws::services::ecs(), "ListTasks", req, "taskArns"));
  co_return json_strings(arr, "the ListTasks response: taskArns");
}

Awaitable<Result<std::vector<TaskView>>> describe_tasks(aws::AwsClient& client,
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
    ECSH_CO_TRY(auto parsed, parse_describe_tasks(resp));
    for (auto& t : parsed) out.push_back(std::move(t));
  }
  co_return out;
}

Awaitable<Result<std::vector<ServiceView>>> describe_services(
    aws::AwsClient& client, const std::string& cluster, const std::vector<std::string>& names) {
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
    ECSH_CO_TRY(auto parsed, parse_describe_services(resp));
    for (auto& s : parsed) out.push_back(std::move(s));
  }
  co_return out;
}

Awaitable<Result<std::optional<ClusterView>>> describe_cluster(aws::AwsClient& client,
                                                               const std::string& cluster) {
  json::object req{{"clusters", json::array{json::value(cluster)}},
                   {"include", json::array{json::value("CONFIGURATIONS")}}};
  ECSH_CO_TRY(auto resp, co_await client.json_call(aws::services::ecs(), "DescribeClusters", req));
  ECSH_CO_TRY(auto clusters, parse_describe_clusters(resp));
  if (clusters.empty()) co_return std::optional<ClusterView>();
  co_return std::optional<ClusterView>(std::move(clusters.front()));
}

Awaitable<Result<std::optional<ContainerInstanceView>>> describe_container_instance(
    aws::AwsClient& client, const std::string& cluster, const std::string& container_instance) {
  json::object req{{"cluster", cluster},
                   {"containerInstances", json::array{json::value(container_instance)}}};
  ECSH_CO_TRY(auto resp,
              co_await client.json_call(aws::services::ecs(), "DescribeContainerInstances", req));
  ECSH_CO_TRY(auto instances, parse_describe_container_instances(resp));
  if (instances.empty()) co_return std::optional<ContainerInstanceView>();
  co_return std::optional<ContainerInstanceView>(std::move(instances.front()));
}

}  // namespace ecsh::ecs
