// The JSON ECS answers with: tasks, services, clusters and container instances, member for
// member as AWS returns them.

#include "sandbox/ecs/ecs_module_impl.hpp"

#include "ecsh/common/crypto.hpp"
#include "sandbox/core/time_format.hpp"

#include <functional>
#include <map>
#include <utility>

namespace ecsh::sandbox::ecs {

json::object Ecs::task_json(const Task& t) const {
  json::object o;
  o["taskArn"] = t.arn;
  o["clusterArn"] = arn(t.region, "cluster/" + t.cluster);
  o["taskDefinitionArn"] = t.task_definition_arn;
  o["lastStatus"] = wire_name(t.last_status);
  o["desiredStatus"] = wire_name(t.desired_status);
  o["launchType"] = t.launch_type;
  o["enableExecuteCommand"] = t.enable_execute_command;
  o["createdAt"] = epoch_seconds(t.created);
  o["availabilityZone"] = t.region + "a";
  o["connectivity"] = "CONNECTED";
  {
    // UNHEALTHY when an essential container is; HEALTHY when every essential container with a
    // health check is; else UNKNOWN (non-essential containers do not count).
    bool unhealthy = false, all_healthy = true, any_check = false;
    for (const auto& c : t.containers) {
      if (!c.essential || !c.health) continue;
      any_check = true;
      unhealthy |= c.health_status == HealthStatus::unhealthy;
      all_healthy &= c.health_status == HealthStatus::healthy;
    }
    o["healthStatus"] = wire_name(unhealthy                  ? HealthStatus::unhealthy
                                  : any_check && all_healthy ? HealthStatus::healthy
                                                             : HealthStatus::unknown);
  }
  o["version"] = 1;
  if (!t.group.empty()) o["group"] = t.group;
  if (!t.started_by.empty()) o["startedBy"] = t.started_by;
  if (!t.platform_version.empty()) {
    o["platformVersion"] = t.platform_version;
    o["platformFamily"] = "Linux";
  }
  if (!t.container_instance_arn.empty()) o["containerInstanceArn"] = t.container_instance_arn;
  if (t.started != TimePoint{}) o["startedAt"] = epoch_seconds(t.started);
  if (t.last_status == TaskStatus::stopped) {
    o["stoppedAt"] = epoch_seconds(t.stopped);
    o["executionStoppedAt"] = epoch_seconds(t.stopped);
  }
  if (!t.stopped_reason.empty()) o["stoppedReason"] = t.stopped_reason;
  if (!t.stop_code.empty()) o["stopCode"] = t.stop_code;
  json::object overrides{{"containerOverrides", json::array{}},
                         {"inferenceAcceleratorOverrides", json::array{}}};
  if (!t.override_role.empty()) overrides["taskRoleArn"] = t.override_role;
  o["overrides"] = std::move(overrides);
  if (const auto* def = task_definition(t.task_definition_arn)) {
    if (auto* cpu = def->if_contains("cpu")) o["cpu"] = *cpu;
    if (auto* mem = def->if_contains("memory")) o["memory"] = *mem;
  }
  // Members AWS returns for every task, [] when empty.
  o["inferenceAccelerators"] = json::array{};
  if (t.started != TimePoint{}) {
    o["connectivityAt"] = epoch_seconds(t.started);
    o["pullStartedAt"] = epoch_seconds(t.started);
    o["pullStoppedAt"] = epoch_seconds(t.started);
  }
  if (t.stopping) o["stoppingAt"] = epoch_seconds(t.stopping_at);
  json::array attachments;
  const std::string attachment_id = "eni-attach-" + t.id.substr(0, 8);
  const std::string private_ip =
      "10.0.1." + std::to_string(10 + (std::hash<std::string>{}(t.id) % 200));
  if (t.launch_type == "FARGATE") {
    attachments.push_back(json::object{
        {"id", attachment_id},
        {"type", "ElasticNetworkInterface"},
        {"status", t.last_status == TaskStatus::stopped ? "DELETED" : "ATTACHED"},
        {"details",
         json::array{
             json::object{{"name", "subnetId"}, {"value", t.subnet_id}},
             json::object{{"name", "networkInterfaceId"}, {"value", "eni-" + t.id.substr(0, 17)}},
             json::object{{"name", "privateIPv4Address"}, {"value", private_ip}}}}});
    o["attributes"] =
        json::array{json::object{{"name", "ecs.cpu-architecture"}, {"value", "x86_64"}}};
    o["ephemeralStorage"] = json::object{{"sizeInGiB", 20}};
  }
  o["attachments"] = std::move(attachments);
  json::array containers;
  for (const auto& c : t.containers) {
    json::object co{
        {"containerArn", arn(t.region, "container/" + t.cluster + "/" + t.id + "/" +
                                           crypto::sha256_hex(t.id + c.name).substr(0, 32))},
        {"taskArn", t.arn},
        {"name", c.name},
        {"image", c.image},
        {"lastStatus", wire_name(c.last_status)},
        {"networkBindings", json::array{}},
        {"networkInterfaces", json::array{}},
        {"healthStatus", wire_name(c.health_status)},
        {"cpu", "0"}};
    if (!c.reason.empty()) co["reason"] = c.reason;
    if (c.memory_limit_mib > 0) co["memory"] = std::to_string(c.memory_limit_mib);
    if (t.launch_type == "FARGATE") {
      co["networkInterfaces"] = json::array{
          json::object{{"attachmentId", attachment_id}, {"privateIpv4Address", private_ip}}};
    }
    if (!c.runtime_id.empty()) co["runtimeId"] = c.runtime_id;
    if (c.exit_code) co["exitCode"] = *c.exit_code;
    json::array agents;
    if (c.agent) {
      json::object a{{"name", "ExecuteCommandAgent"},
                     {"lastStatus", wire_name(c.agent->status)},
                     {"lastStartedAt", epoch_seconds(c.agent->started)}};
      if (!c.agent->reason.empty()) a["reason"] = c.agent->reason;
      agents.push_back(std::move(a));
    }
    co["managedAgents"] = std::move(agents);
    containers.push_back(std::move(co));
  }
  o["containers"] = std::move(containers);
  o["tags"] = t.tags;
  return o;
}

json::object Ecs::network_configuration(const Service& s) {
  json::array subnets;
  for (const auto& n : s.subnets) subnets.emplace_back(n);
  return json::object{{"awsvpcConfiguration", json::object{{"subnets", subnets},
                                                           {"securityGroups", json::array{}},
                                                           {"assignPublicIp", "DISABLED"}}}};
}

json::object Ecs::service_json(const Service& s) const {
  int running = 0, pending = 0;
  std::map<std::string, std::pair<int, int>> per_deployment;
  for (const auto& [id, t] : tasks_) {
    if (t.group != "service:" + s.name || t.cluster != s.cluster ||
        t.desired_status == TaskStatus::stopped)
      continue;
    if (t.last_status == TaskStatus::running) {
      ++running;
      ++per_deployment[t.deployment_id].first;
    } else {
      ++pending;
      ++per_deployment[t.deployment_id].second;
    }
  }
  json::array deployments;
  for (const auto& d : s.deployments) {
    auto counts = per_deployment[d.id];
    json::object o{{"id", d.id},
                   {"status", wire_name(d.status)},
                   {"taskDefinition", d.task_definition},
                   {"desiredCount", d.desired},
                   {"pendingCount", counts.second},
                   {"runningCount", counts.first},
                   {"failedTasks", d.failed},
                   {"createdAt", epoch_seconds(d.created)},
                   {"updatedAt", epoch_seconds(d.updated)},
                   {"launchType", s.launch_type},
                   {"rolloutState", wire_name(d.rollout_state)}};
    if (!d.rollout_reason.empty()) o["rolloutStateReason"] = d.rollout_reason;
    if (s.launch_type == "FARGATE") {
      o["platformVersion"] = d.platform_version;
      o["platformFamily"] = "Linux";
      o["networkConfiguration"] = network_configuration(s);
    }
    deployments.push_back(std::move(o));
  }
  json::object o{
      {"serviceArn", s.arn},
      {"serviceName", s.name},
      {"clusterArn", arn(s.region, "cluster/" + s.cluster)},
      {"status", wire_name(s.status)},
      {"desiredCount", s.desired},
      {"runningCount", running},
      {"pendingCount", pending},
      {"launchType", s.launch_type},
      {"taskDefinition", s.task_definition},
      {"deploymentConfiguration",
       json::object{{"deploymentCircuitBreaker",
                     json::object{{"enable", s.circuit_breaker}, {"rollback", s.rollback}}},
                    {"maximumPercent", s.max_percent},
                    {"minimumHealthyPercent", s.min_healthy}}},
      {"deployments", std::move(deployments)},
      {"events", s.events},
      {"createdAt", epoch_seconds(s.created)},
      {"schedulingStrategy", "REPLICA"},
      {"enableECSManagedTags", false},
      {"propagateTags", "NONE"},
      {"enableExecuteCommand", s.enable_execute_command},
      {"tags", s.tags},
      {"loadBalancers", json::array{}},
      {"serviceRegistries", json::array{}},
      {"placementConstraints", json::array{}},
      {"placementStrategy", json::array{}},
      {"deploymentController", json::object{{"type", "ECS"}}},
      {"roleArn", "arn:aws:iam::" + std::string(kAccount) +
                      ":role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"}};
  if (!s.created_by.empty()) o["createdBy"] = s.created_by;
  if (s.launch_type == "FARGATE") {
    o["platformVersion"] = s.platform_version;
    o["platformFamily"] = "Linux";
    o["networkConfiguration"] = network_configuration(s);
  }
  return o;
}

json::object Ecs::cluster_json(const Cluster& c, bool configurations) const {
  int running = 0, pending = 0, services = 0;
  for (const auto& [id, t] : tasks_) {
    if (t.cluster != c.name || t.desired_status == TaskStatus::stopped) continue;
    (t.last_status == TaskStatus::running ? running : pending)++;
  }
  for (const auto& [k, s] : services_)
    services += s.cluster == c.name && s.status == ServiceStatus::active;
  json::object o{
      {"clusterArn", c.arn},
      {"clusterName", c.name},
      {"status", "ACTIVE"},
      {"registeredContainerInstancesCount", static_cast<int>(c.instances.size())},
      {"runningTasksCount", running},
      {"pendingTasksCount", pending},
      {"activeServicesCount", services},
      {"statistics", json::array{}},
      {"tags", c.tags},
      {"settings", json::array{json::object{{"name", "containerInsights"}, {"value", "disabled"}}}},
      {"capacityProviders", json::array{"FARGATE", "FARGATE_SPOT"}},
      {"defaultCapacityProviderStrategy", json::array{}}};
  if (configurations && !c.exec_config.empty()) {
    o["configuration"] = json::object{{"executeCommandConfiguration", c.exec_config}};
  }
  return o;
}

json::object Ecs::instance_json(const Cluster& c, const ContainerInstance& i) const {
  int running = 0, pending = 0;
  for (const auto& [id, t] : tasks_) {
    if (t.container_instance_arn != i.arn || t.desired_status == TaskStatus::stopped) continue;
    (t.last_status == TaskStatus::running ? running : pending)++;
  }
  (void)c;
  json::array attributes{
      json::object{{"name", "ecs.subnet-id"}, {"value", i.subnet_id}},
      json::object{{"name", "ecs.vpc-id"},
                   {"value", subnets_.count(i.subnet_id) ? subnets_.at(i.subnet_id).vpc_id
                                                         : "vpc-0ec5a0d0000000001"}}};
  // The ECS agent registers the capability only when it can run ECS Exec.
  if (instance_offers_exec(i.agent_version, i.exec_binaries)) {
    attributes.push_back(json::object{{"name", "ecs.capability.execute-command"}});
  }
  return json::object{{"containerInstanceArn", i.arn},
                      {"ec2InstanceId", i.ec2_instance_id},
                      {"version", 1},
                      {"versionInfo", json::object{{"agentVersion", i.agent_version},
                                                   {"agentHash", i.agent_hash},
                                                   {"dockerVersion", i.docker_version}}},
                      {"status", "ACTIVE"},
                      {"agentConnected", true},
                      {"runningTasksCount", running},
                      {"pendingTasksCount", pending},
                      {"registeredAt", epoch_seconds(i.registered)},
                      {"attributes", std::move(attributes)},
                      {"registeredResources", json::array{}},
                      {"remainingResources", json::array{}},
                      {"tags", json::array{}}};
}

}  // namespace ecsh::sandbox::ecs
