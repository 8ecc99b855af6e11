// The ECS module: time-driven state, SSM targets, clusters and task definitions looked up or
// registered. The API is in ecs_routes.cpp; ecs_module.hpp lists the other files.

#include "sandbox/ecs/ecs_module_impl.hpp"

#include "sandbox/core/time_format.hpp"

#include <algorithm>
#include <cstdlib>

namespace ecsh::sandbox::ecs {

// ---- time-driven state ------------------------------------------------------------------------

void Ecs::tick(TimePoint now) {
  bool changed = false;
  for (auto& [id, t] : tasks_) changed |= advance(t, now);
  for (auto& [id, t] : tasks_) {
    if (t.runtime_started) {
      pump_logs(t, false);
      changed |= run_health_checks(t, now);
    }
  }
  if (now - last_memory_check_ >= std::chrono::milliseconds(200)) {
    last_memory_check_ = now;
    watch_memory();
  }
  for (auto& [key, s] : services_) changed |= reconcile(s, now);
  // Forget tasks stopped more than an hour ago.
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    if (it->second.last_status == TaskStatus::stopped &&
        now - it->second.stopped > std::chrono::hours(1)) {
      it = tasks_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  if (changed && env_.state_changed) env_.state_changed();
}

void Ecs::shutdown() {
  for (auto& [id, t] : tasks_) {
    if (t.runtime_started) runtime_.stop_task(id, std::chrono::milliseconds(200));
  }
}

std::size_t Ecs::running_tasks() const {
  return static_cast<std::size_t>(std::count_if(tasks_.begin(), tasks_.end(), [](const auto& kv) {
    return kv.second.last_status == TaskStatus::running;
  }));
}

// ---- SSM targets ------------------------------------------------------------------------------

std::optional<ssm::TargetInfo> Ecs::resolve_target(const std::string& target) const {
  if (target.starts_with("i-")) {
    // A container instance: its SSM agent gives a shell on the host.
    for (const auto& [n, c] : clusters_) {
      for (const auto& [id, i] : c.instances) {
        if (i.ec2_instance_id != target) continue;
        ssm::TargetInfo info;
        info.host = true;
        info.agent_connected = i.ssm_managed;
        return info;
      }
    }
    return std::nullopt;
  }
  // ecs:<cluster>_<taskId>_<runtimeId>
  if (!target.starts_with("ecs:")) return std::nullopt;
  std::string rest = target.substr(4);
  auto last = rest.rfind('_');
  if (last == std::string::npos) return std::nullopt;
  std::string runtime_id = rest.substr(last + 1);
  rest = rest.substr(0, last);
  auto mid = rest.rfind('_');
  if (mid == std::string::npos) return std::nullopt;
  std::string task_id = rest.substr(mid + 1);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return std::nullopt;
  for (const auto& c : it->second.containers) {
    if (c.runtime_id != runtime_id) continue;
    ssm::TargetInfo info;
    info.task_id = task_id;
    info.container = c.name;
    info.agent_connected =
        c.agent && c.agent->status == AgentStatus::running && agent_connects(it->second, c) &&
        (!options_.external_agents.connected || options_.external_agents.connected(target));
    auto cl = clusters_.find(it->second.cluster);
    if (cl != clusters_.end()) {
      info.kms_key_arn = kms_arn(cl->second);
      info.log_group = log_group(cl->second);
    }
    return info;
  }
  return std::nullopt;
}

std::vector<ssm::ManagedInstance> Ecs::managed_instances() const {
  std::vector<ssm::ManagedInstance> out;
  for (const auto& [n, c] : clusters_) {
    for (const auto& [id, i] : c.instances) {
      if (!i.ssm_managed) continue;
      ssm::ManagedInstance m;
      m.instance_id = i.ec2_instance_id;
      m.ip_address = i.private_ip;
      out.push_back(m);
    }
  }
  return out;
}

// ---- clusters and task definitions ------------------------------------------------------------

std::string Ecs::log_group(const Cluster& c) {
  std::string logging = get(c.exec_config, "logging", "DEFAULT");
  if (logging == "NONE") return {};
  if (auto* lc = get_obj(c.exec_config, "logConfiguration")) {
    return get(*lc, "cloudWatchLogGroupName");
  }
  return {};
}

ApiResult<Cluster*> Ecs::find_cluster(const json::object& req, const RequestContext& ctx) {
  std::string name = last_segment(get(req, "cluster", "default"));
  auto it = clusters_.find(name);
  if (it == clusters_.end() || (!ctx.region.empty() && it->second.region != ctx.region)) {
    return cluster_not_found();
  }
  return &it->second;
}

const json::object* Ecs::task_definition(const std::string& ref) const {
  // family, family:revision, or ARN.
  std::string s = ref;
  if (auto pos = s.find(":task-definition/"); pos != std::string::npos) s = s.substr(pos + 17);
  std::string family = s;
  int revision = 0;
  if (auto colon = s.rfind(':'); colon != std::string::npos) {
    family = s.substr(0, colon);
    revision = std::atoi(s.c_str() + colon + 1);
  }
  auto it = task_defs_.find(family);
  if (it == task_defs_.end() || it->second.empty()) return nullptr;
  if (revision == 0) {
    for (auto r = it->second.rbegin(); r != it->second.rend(); ++r) {
      if (get(*r, "status") == "ACTIVE") return &*r;
    }
    return nullptr;
  }
  if (revision < 1 || static_cast<std::size_t>(revision) > it->second.size()) return nullptr;
  return &it->second[static_cast<std::size_t>(revision) - 1];
}

ApiResult<json::object> Ecs::register_task_definition(const json::object& req,
                                                      const std::string& region,
                                                      const std::string& registered_by) {
  std::string family = get(req, "family");
  if (family.empty()) return invalid("Family must be specified.");
  auto* containers = get_arr(req, "containerDefinitions");
  if (!containers || containers->empty()) {
    return invalid("Container definitions must be specified.");
  }
  for (const auto& c : *containers) {
    if (!c.is_object() || get(c.as_object(), "name").empty() ||
        get(c.as_object(), "image").empty()) {
      return invalid("Container.name and Container.image should not be null or empty.");
    }
  }
  auto& revisions = task_defs_[family];
  json::object def = req;
  int revision = static_cast<int>(revisions.size()) + 1;
  def["taskDefinitionArn"] =
      arn(region, "task-definition/" + family + ":" + std::to_string(revision));
  def["revision"] = revision;
  def["status"] = "ACTIVE";
  def["registeredAt"] = epoch_seconds(now());
  def["registeredBy"] = registered_by;
  if (!def.contains("networkMode")) def["networkMode"] = "bridge";
  if (!def.contains("requiresCompatibilities")) def["requiresCompatibilities"] = json::array{"EC2"};
  def["compatibilities"] = json::array{"EC2", "FARGATE"};
  def.erase("tags");
  // What AWS fills in when the request leaves it out: the lists are always present ([] when
  // empty), a container's cpu is 0 and it is essential, port mappings get a protocol and, with
  // awsvpc or host networking, the container port as host port.
  for (const char* key : {"volumes", "placementConstraints"}) {
    if (!def.contains(key)) def[key] = json::array{};
  }
  const std::string network_mode = get(def, "networkMode");
  json::array requires_attributes{
      json::object{{"name", "com.amazonaws.ecs.capability.docker-remote-api.1.18"}}};
  if (!get(def, "taskRoleArn").empty())
    requires_attributes.push_back(
        json::object{{"name", "com.amazonaws.ecs.capability.task-iam-role"}});
  if (network_mode == "awsvpc")
    requires_attributes.push_back(json::object{{"name", "ecs.capability.task-eni"}});
  def["requiresAttributes"] = std::move(requires_attributes);
  json::array filled;
  for (const auto& cv : *containers) {
    json::object c = cv.as_object();
    if (!c.contains("cpu")) c["cpu"] = 0;
    if (!c.contains("essential")) c["essential"] = true;
    for (const char* key : {"portMappings", "environment", "mountPoints", "volumesFrom"}) {
      if (!c.contains(key)) c[key] = json::array{};
    }
    if (auto* ports = c.if_contains("portMappings"); ports && ports->is_array()) {
      for (auto& pm : ports->as_array()) {
        if (!pm.is_object()) continue;
        auto& m = pm.as_object();
        if (!m.contains("protocol")) m["protocol"] = "tcp";
        if (!m.contains("hostPort") && m.contains("containerPort") &&
            (network_mode == "awsvpc" || network_mode == "host")) {
          m["hostPort"] = m["containerPort"];
        }
      }
    }
    filled.push_back(std::move(c));
  }
  def["containerDefinitions"] = std::move(filled);
  revisions.push_back(def);
  return def;
}

std::unique_ptr<EcsModule> make_ecs_module(runtime::TaskRuntime& runtime,
                                           ssm::SessionRegistry& sessions, EcsOptions options) {
  return std::make_unique<Ecs>(runtime, sessions, std::move(options));
}

}  // namespace ecsh::sandbox::ecs
