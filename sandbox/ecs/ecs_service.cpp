#include "sandbox/ecs/ecs_service.hpp"

#include "ecsh/common/crypto.hpp"
#include "ecsh/session/agent_permissions.hpp"
#include "sandbox/core/time_format.hpp"

#include <boost/json.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <utility>

namespace ecsh::sandbox::ecs {
namespace {

namespace json = boost::json;
using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

constexpr std::string_view kAccount = "000000000000";
constexpr const char* kTargetPrefix = "AmazonEC2ContainerServiceV20141113";
constexpr const char* kNotEnabled =
    "The execute command failed because execute command was not enabled when the task was run "
    "or the execute command agent isn't running. Wait and try again or run a new task with "
    "execute command enabled and try again.";

std::string get(const json::object& o, std::string_view key, std::string fallback = {}) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::move(fallback);
}
bool get_bool(const json::object& o, std::string_view key, bool fallback = false) {
  auto* v = o.if_contains(key);
  return v && v->is_bool() ? v->as_bool() : fallback;
}
std::int64_t get_int(const json::object& o, std::string_view key, std::int64_t fallback = 0) {
  auto* v = o.if_contains(key);
  if (!v) return fallback;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  return fallback;
}
const json::object* get_obj(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}
const json::array* get_arr(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_array() ? &v->as_array() : nullptr;
}

int compare_versions(std::string_view a, std::string_view b) {
  auto next = [](std::string_view& s) {
    long v = 0;
    auto dot = s.find('.');
    auto part = s.substr(0, dot);
    std::from_chars(part.data(), part.data() + part.size(), v);
    s = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
    return v;
  };
  while (!a.empty() || !b.empty()) {
    long x = next(a), y = next(b);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

std::string hex_id(std::size_t bytes) { return crypto::hex(crypto::random_bytes(bytes)); }
std::string last_segment(std::string_view arn) {
  auto slash = arn.rfind('/');
  return std::string(slash == std::string_view::npos ? arn : arn.substr(slash + 1));
}

// "arn:…:task-definition/web:3" → "web" and "3".
std::string family_of(std::string_view def_arn) {
  std::string last = last_segment(def_arn);
  return last.substr(0, last.rfind(':'));
}
std::string revision_of(std::string_view def_arn) {
  std::string last = last_segment(def_arn);
  auto colon = last.rfind(':');
  return colon == std::string::npos ? std::string() : last.substr(colon + 1);
}
// The ECS agent's container name: ecs-<family>-<revision>-<container>-<random hex>.
std::string docker_name(std::string_view def_arn, const std::string& container) {
  std::string name =
      "ecs-" + family_of(def_arn) + "-" + revision_of(def_arn) + "-" + container + "-" + hex_id(10);
  for (auto& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.')
      ch = '-';
  }
  return name;
}

ApiError invalid(std::string message) {
  return ApiError::client("InvalidParameterException", std::move(message));
}
ApiError cluster_not_found() {
  return ApiError::client("ClusterNotFoundException", "Cluster not found.");
}

// ---- the model ---------------------------------------------------------------------------------

struct ContainerInstance {
  std::string id, arn, ec2_instance_id, agent_version = "1.80.0", instance_role_arn, subnet_id;
  std::string private_ip;
  std::string agent_hash = "ecshsbx", docker_version = "DockerVersion: 20.10.25";
  bool ssm_managed = true;  // the instance's SSM agent is registered (sessions to the host)
  TimePoint registered;
};

struct Cluster {
  std::string name, arn, region;
  json::object exec_config;  // executeCommandConfiguration as given
  std::map<std::string, ContainerInstance> instances;
  json::array tags;
  TimePoint created;
};

struct Agent {
  std::string status;  // PENDING, RUNNING, STOPPED
  std::string reason;
  TimePoint started;
};

// Where the awslogs driver sends a container's output: read from its log file as it grows.
struct LogForward {
  std::string group, stream, path;
  std::uint64_t offset = 0;
  std::string partial;  // a line not yet ended
};

// A container's healthCheck as Docker runs it.
struct HealthCheck {
  std::vector<std::string> argv;
  std::chrono::seconds interval{30}, timeout{5}, start_period{0};
  int retries = 3;
  int failures = 0;  // consecutive
  TimePoint next;
  std::optional<TimePoint> running_since;  // a check in flight
  std::shared_ptr<runtime::ExecProcess> process;
};

struct Container {
  std::string name, runtime_id, image, last_status = "PENDING";
  std::optional<int> exit_code;
  std::string reason;  // why it stopped, as ECS words it (OutOfMemoryError: …)
  std::string health_status = "UNKNOWN";
  bool essential = true;
  std::optional<Agent> agent;  // absent when exec is off for the task
  // Runtime state (not persisted: tasks do not survive a restart).
  int pid = 0;
  std::int64_t memory_limit_mib = 0;  // the container definition's `memory` (hard limit)
  bool oom_killed = false;
  std::optional<LogForward> log;
  std::optional<HealthCheck> health;
};

struct Task {
  std::string id, arn, cluster, region, task_definition_arn, group, started_by, launch_type,
      platform_version, container_instance_arn, subnet_id, override_role, deployment_id;
  std::string last_status = "PROVISIONING", desired_status = "RUNNING";
  std::string stopped_reason, stop_code;
  bool enable_execute_command = false;
  bool runtime_started = false;
  bool stopping = false;
  std::vector<Container> containers;
  TimePoint created, started, stopped, stopping_at;
  json::array tags;
};

struct Deployment {
  std::string id, status = "PRIMARY", task_definition, launch_type, platform_version;
  std::string rollout_state = "IN_PROGRESS", rollout_reason;
  int desired = 0, failed = 0;
  TimePoint created, updated;
};

struct Service {
  std::string name, arn, cluster, region, task_definition,
      launch_type = "FARGATE", platform_version = "LATEST", status = "ACTIVE";
  int desired = 0;
  bool enable_execute_command = false;
  std::vector<std::string> subnets;
  std::vector<Deployment> deployments;
  json::array events;
  json::array tags;
  int max_percent = 200, min_healthy = 100;
  bool circuit_breaker = true;
  bool rollback = false;
  // The last deployment that completed, which the circuit breaker rolls back to.
  std::string completed_deployment, completed_task_definition;
  std::string created_by;  // the caller's ARN (AWS returns the role or user that created it)
  TimePoint created;
};

struct Subnet {
  std::string vpc_id;
  bool route_out = true;
};

}  // namespace

class Ecs final : public EcsModule {
 public:
  Ecs(runtime::TaskRuntime& rt, ssm::SessionRegistry& sessions, EcsOptions o)
      : runtime_(rt), sessions_(sessions), options_(std::move(o)) {}

  std::string name() const override { return "ecs"; }
  void attach(const ModuleEnvironment& env) override { env_ = env; }

  // ---- time-driven state ----
  void tick(TimePoint now) override {
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
      if (it->second.last_status == "STOPPED" && now - it->second.stopped > std::chrono::hours(1)) {
        it = tasks_.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
    if (changed && env_.state_changed) env_.state_changed();
  }

  void shutdown() override {
    for (auto& [id, t] : tasks_) {
      if (t.runtime_started) runtime_.stop_task(id, std::chrono::milliseconds(200));
    }
  }

  std::size_t running_tasks() const override {
    return static_cast<std::size_t>(std::count_if(tasks_.begin(), tasks_.end(), [](const auto& kv) {
      return kv.second.last_status == "RUNNING";
    }));
  }

  std::optional<ssm::TargetInfo> resolve_target(const std::string& target) const override {
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
          c.agent && c.agent->status == "RUNNING" && agent_problem(it->second, c).empty();
      auto cl = clusters_.find(it->second.cluster);
      if (cl != clusters_.end()) {
        info.kms_key_arn = kms_arn(cl->second);
        info.log_group = log_group(cl->second);
      }
      return info;
    }
    return std::nullopt;
  }

  std::vector<ssm::ManagedInstance> managed_instances() const override {
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

  void register_routes(Router& router) override;
  json::value save() const override;
  void load(const json::value& state) override;
  ApiResult<void> apply_scenario(const json::object& scenario) override;

 private:
  TimePoint now() const { return env_.clock ? env_.clock() : Clock::now(); }
  std::string arn(const std::string& region, const std::string& rest) const {
    return "arn:aws:ecs:" + region + ":" + std::string(kAccount) + ":" + rest;
  }
  static std::string kms_arn(const Cluster& c) { return get(c.exec_config, "kmsKeyId"); }
  static std::string log_group(const Cluster& c) {
    std::string logging = get(c.exec_config, "logging", "DEFAULT");
    if (logging == "NONE") return {};
    if (auto* lc = get_obj(c.exec_config, "logConfiguration")) {
      return get(*lc, "cloudWatchLogGroupName");
    }
    return {};
  }
  static bool logging_on(const Cluster& c) {
    return !c.exec_config.empty() && get(c.exec_config, "logging", "DEFAULT") != "NONE";
  }

  ApiResult<Cluster*> find_cluster(const json::object& req, const RequestContext& ctx) {
    std::string name = last_segment(get(req, "cluster", "default"));
    auto it = clusters_.find(name);
    if (it == clusters_.end() || (!ctx.region.empty() && it->second.region != ctx.region)) {
      return cluster_not_found();
    }
    return &it->second;
  }

  const json::object* task_definition(const std::string& ref) const {
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

  ApiResult<json::object> register_task_definition(const json::object& req,
                                                   const std::string& region,
                                                   const std::string& registered_by);
  ApiResult<Task*> launch(const std::string& cluster, const json::object& def,
                          const std::string& group, const std::string& started_by,
                          const std::string& launch_type, const std::string& platform_version,
                          bool exec, const std::string& subnet, const std::string& override_role,
                          const std::string& container_instance, const std::string& deployment_id);
  bool advance(Task& t, TimePoint now);
  void start_runtime(Task& t, TimePoint now);
  void decide_agents(Task& t, TimePoint now);
  // Why the ECS agent or the platform cannot run ECS Exec at all ("" when it can).
  std::string exec_unsupported(const Task& t) const;
  // Why the container's ExecuteCommandAgent cannot connect ("" when it can; "unreachable" when
  // the network is the reason).
  std::string agent_problem(const Task& t, const Container& c) const;
  // AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of a container (environment, or secrets the
  // scenario gave a value); nullopt when it has no access key ID.
  std::optional<std::pair<std::string, std::string>> environment_keys(
      const Task& t, const std::string& container) const;
  void request_stop(Task& t, const std::string& reason, const std::string& code);
  // awslogs: the group must exist (or be created) and the stream is made before the task runs;
  // returns the stopped reason when it cannot.
  std::string prepare_log_streams(Task& t, const json::object& def);
  // Appends what containers wrote since the last call to their streams; `flush` ends a partial
  // last line too (the container exited).
  void pump_logs(Task& t, bool flush);
  void pump_container_log(Container& c, bool flush);
  // Kills the process tree of a container over its memory hard limit (process runtime).
  void watch_memory();
  bool run_health_checks(Task& t, TimePoint now);
  void health_check_done(const std::string& task_id, const std::string& container, int code);
  bool reconcile(Service& s, TimePoint now);
  // A new PRIMARY deployment of the service's current task definition and settings.
  Deployment new_deployment(const Service& s) const {
    Deployment d;
    d.id =
        "ecs-svc/" + std::to_string(1000000000000000000ULL +
                                    std::hash<std::string>{}(hex_id(8)) % 8999999999999999999ULL);
    d.task_definition = s.task_definition;
    d.desired = s.desired;
    d.launch_type = s.launch_type;
    d.platform_version = s.platform_version;
    d.created = d.updated = now();
    return d;
  }
  void event(Service& s, const std::string& message);
  json::object task_json(const Task& t) const;
  json::object service_json(const Service& s) const;
  static json::object network_configuration(const Service& s);
  json::object cluster_json(const Cluster& c, bool configurations) const;
  json::object instance_json(const Cluster& c, const ContainerInstance& i) const;

  runtime::TaskRuntime& runtime_;
  ssm::SessionRegistry& sessions_;
  EcsOptions options_;
  ModuleEnvironment env_;
  std::map<std::string, Cluster> clusters_;
  std::map<std::string, std::vector<json::object>> task_defs_;  // family -> revisions
  std::map<std::string, Service> services_;                     // "cluster/name"
  std::map<std::string, Task> tasks_;                           // task id
  std::map<std::string, Subnet> subnets_;
  std::set<std::string> endpoint_vpcs_;  // VPCs with an ssmmessages endpoint (private DNS)
  // Values of container secrets by valueFrom (scenario "secret_values"): SSM parameters or
  // Secrets Manager secrets, which the sandbox does not serve.
  std::map<std::string, std::string> secret_values_;
  TimePoint last_memory_check_{};
};

// ---- launching and lifecycles -----------------------------------------------------------------

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

ApiResult<Task*> Ecs::launch(const std::string& cluster, const json::object& def,
                             const std::string& group, const std::string& started_by,
                             const std::string& launch_type, const std::string& platform_version,
                             bool exec, const std::string& subnet, const std::string& override_role,
                             const std::string& container_instance,
                             const std::string& deployment_id) {
  auto& cl = clusters_.at(cluster);
  Task t;
  t.id = hex_id(16);
  t.arn = arn(cl.region, "task/" + cluster + "/" + t.id);
  t.cluster = cluster;
  t.region = cl.region;
  t.task_definition_arn = get(def, "taskDefinitionArn");
  t.group = group;
  t.started_by = started_by;
  t.launch_type = launch_type.empty() ? "FARGATE" : launch_type;
  t.platform_version =
      t.launch_type == "FARGATE" ? (platform_version.empty() ? "1.4.0" : platform_version) : "";
  if (t.platform_version == "LATEST") t.platform_version = "1.4.0";
  t.enable_execute_command = exec;
  t.override_role = override_role;
  t.deployment_id = deployment_id;
  t.created = now();
  if (t.launch_type == "EC2") {
    const ContainerInstance* ci = nullptr;
    for (const auto& [id, i] : cl.instances) {
      if (container_instance.empty() || i.arn == container_instance || i.id == container_instance) {
        ci = &i;
        break;
      }
    }
    if (!ci) return invalid("No Container Instances were found in your cluster.");
    t.container_instance_arn = ci->arn;
    t.subnet_id = ci->subnet_id;
  } else {
    t.subnet_id = subnet.empty() ? "subnet-0ec5a0d0000000001" : subnet;
  }
  if (auto* defs = get_arr(def, "containerDefinitions")) {
    for (const auto& cv : *defs) {
      const auto& c = cv.as_object();
      Container k;
      k.name = get(c, "name");
      k.image = get(c, "image");
      k.essential = get_bool(c, "essential", true);
      k.memory_limit_mib = get_int(c, "memory", 0);
      if (auto* hc = get_obj(c, "healthCheck")) {
        HealthCheck h;
        if (auto* cmd = get_arr(*hc, "command"); cmd && !cmd->empty()) {
          std::vector<std::string> words;
          for (const auto& w : *cmd) {
            if (w.is_string()) words.emplace_back(w.as_string());
          }
          if (!words.empty() && words.front() == "CMD-SHELL") {
            std::string script;
            for (std::size_t i = 1; i < words.size(); ++i) script += (i > 1 ? " " : "") + words[i];
            h.argv = {"/bin/sh", "-c", script};
          } else if (!words.empty() && words.front() == "CMD") {
            h.argv.assign(words.begin() + 1, words.end());
          } else {
            h.argv = words;  // Docker's default form: a command (AWS accepts only CMD/CMD-SHELL)
          }
        }
        h.interval = std::chrono::seconds(get_int(*hc, "interval", 30));
        h.timeout = std::chrono::seconds(get_int(*hc, "timeout", 5));
        h.retries = static_cast<int>(get_int(*hc, "retries", 3));
        h.start_period = std::chrono::seconds(get_int(*hc, "startPeriod", 0));
        if (!h.argv.empty()) k.health = std::move(h);
      }
      t.containers.push_back(std::move(k));
    }
  }
  auto id = t.id;
  auto& stored = tasks_[id] = std::move(t);
  return &stored;
}

void Ecs::start_runtime(Task& t, TimePoint now_tp) {
  const json::object* def = task_definition(t.task_definition_arn);
  runtime::TaskSpec spec;
  spec.task_id = t.id;
  std::string missing_secret;
  if (def) {
    for (const auto& cv : *get_arr(*def, "containerDefinitions")) {
      const auto& c = cv.as_object();
      runtime::ContainerSpec cs;
      cs.name = get(c, "name");
      for (const char* key : {"entryPoint", "command"}) {
        if (auto* a = get_arr(c, key)) {
          for (const auto& w : *a) {
            if (w.is_string()) cs.argv.emplace_back(w.as_string());
          }
        }
      }
      if (cs.argv.empty()) cs.argv = {"sleep", "2147483647"};  // an image's default: keep running
      cs.env.emplace_back("PATH", options_.container_path);
      cs.env.emplace_back("ECS_CONTAINER_METADATA_URI_V4", "http://169.254.170.2/v4/" + t.id);
      if (auto* env = get_arr(c, "environment")) {
        for (const auto& e : *env) {
          if (!e.is_object()) continue;
          // The task definition's variables replace the image's (PATH included: an image
          // with a short PATH is how a minimal image is modelled).
          std::string name = get(e.as_object(), "name");
          std::string value = get(e.as_object(), "value");
          auto same = std::find_if(cs.env.begin(), cs.env.end(),
                                   [&name](const auto& kv) { return kv.first == name; });
          if (same != cs.env.end()) {
            same->second = value;
          } else {
            cs.env.emplace_back(name, value);
          }
        }
      }
      if (auto* secrets = get_arr(c, "secrets")) {
        for (const auto& e : *secrets) {
          if (!e.is_object()) continue;
          auto value = secret_values_.find(get(e.as_object(), "valueFrom"));
          if (value == secret_values_.end()) {
            missing_secret = get(e.as_object(), "valueFrom");
          } else {
            cs.env.emplace_back(get(e.as_object(), "name"), value->second);
          }
        }
      }
      cs.working_dir = get(c, "workingDirectory");
      cs.image = get(c, "image");
      cs.docker_name = docker_name(t.task_definition_arn, cs.name);
      auto cluster = clusters_.find(t.cluster);
      cs.labels = {
          {"com.amazonaws.ecs.cluster",
           cluster == clusters_.end() ? t.cluster : cluster->second.arn},
          {"com.amazonaws.ecs.container-name", cs.name},
          {"com.amazonaws.ecs.task-arn", t.arn},
          {"com.amazonaws.ecs.task-definition-family", family_of(t.task_definition_arn)},
          {"com.amazonaws.ecs.task-definition-version", revision_of(t.task_definition_arn)}};
      cs.read_only_root = get_bool(c, "readonlyRootFilesystem");
      if (!options_.log_dir.empty())
        cs.log_path = options_.log_dir + "/" + t.id + "-" + cs.name + ".log";
      spec.containers.push_back(std::move(cs));
    }
  }
  if (missing_secret.empty() && def) {
    if (std::string why = prepare_log_streams(t, *def); !why.empty()) {
      t.last_status = "STOPPED";
      t.desired_status = "STOPPED";
      t.stopped = now_tp;
      t.stop_code = "TaskFailedToStart";
      t.stopped_reason = why;
      for (auto& c : t.containers) c.last_status = "STOPPED";
      return;
    }
  }
  if (!missing_secret.empty()) {
    // As ECS does when the execution role cannot fetch a secret: the task never starts.
    t.last_status = "STOPPED";
    t.desired_status = "STOPPED";
    t.stopped = now_tp;
    t.stop_code = "TaskFailedToStart";
    t.stopped_reason =
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
        "retrieval failed: unable to retrieve secret from " +
        missing_secret + ": ResourceNotFoundException";
    for (auto& c : t.containers) c.last_status = "STOPPED";
    return;
  }
  std::string id = t.id;
  auto started = runtime_.start_task(spec, [this, id](const runtime::ContainerExit& exit) {
    auto it = tasks_.find(id);
    if (it == tasks_.end()) return;
    auto& task = it->second;
    for (auto& c : task.containers) {
      if (c.name != exit.container) continue;
      pump_container_log(c, true);
      c.last_status = "STOPPED";
      c.exit_code = exit.exit_code;
      if (c.oom_killed) {
        c.exit_code = 137;
        c.reason = "OutOfMemoryError: Container killed due to memory usage";
      }
      c.pid = 0;
      if (c.health && c.health->process) c.health->process->kill(SIGKILL);
      if (c.agent) c.agent->status = "STOPPED";
      // The agent in the container is gone, and with it every session into the container.
      sessions_.terminate_for_container(id, c.name);
      if (c.essential && task.desired_status != "STOPPED") {
        request_stop(task, "Essential container in task exited", "EssentialContainerExited");
      }
    }
    bool all = std::all_of(task.containers.begin(), task.containers.end(),
                           [](const Container& c) { return c.last_status == "STOPPED"; });
    if (all) {
      task.last_status = "STOPPED";
      task.desired_status = "STOPPED";
      task.stopped = now();
      if (task.stopped_reason.empty()) task.stopped_reason = "Essential container in task exited";
      task.runtime_started = false;
    }
    if (env_.state_changed) env_.state_changed();
  });
  if (!started) {
    t.last_status = "STOPPED";
    t.desired_status = "STOPPED";
    t.stopped = now_tp;
    t.stop_code = "TaskFailedToStart";
    // The docker runtime names the error itself (CannotPullContainerError for a missing image).
    t.stopped_reason = started.error().message.starts_with("Cannot")
                           ? started.error().message
                           : "CannotStartContainerError: " + started.error().message;
    for (auto& c : t.containers) c.last_status = "STOPPED";
    return;
  }
  t.runtime_started = true;
  for (auto& c : t.containers) {
    for (const auto& sc : started.value().containers) {
      if (sc.name != c.name) continue;
      c.runtime_id = sc.runtime_id;
      c.pid = sc.pid;
    }
    c.last_status = "RUNNING";
    // Without awslogs-stream-prefix the awslogs driver names the stream after the container ID.
    if (c.log && c.log->stream.empty()) {
      c.log->stream = c.runtime_id;
      if (options_.logs) options_.logs->create_stream(c.log->group, c.log->stream);
    }
    if (c.health) c.health->next = now_tp + c.health->interval;
  }
}

std::string Ecs::prepare_log_streams(Task& t, const json::object& def) {
  auto* defs = get_arr(def, "containerDefinitions");
  if (!defs || !options_.logs || options_.log_dir.empty()) return {};
  for (const auto& cv : *defs) {
    if (!cv.is_object()) continue;
    const auto& cd = cv.as_object();
    auto* lc = get_obj(cd, "logConfiguration");
    if (!lc || get(*lc, "logDriver") != "awslogs") continue;
    const json::object empty;
    const auto* opts = get_obj(*lc, "options");
    if (!opts) opts = &empty;
    std::string group = get(*opts, "awslogs-group");
    std::string prefix = get(*opts, "awslogs-stream-prefix");
    const std::string name = get(cd, "name");
    if (!options_.logs->group_exists(group)) {
      if (get(*opts, "awslogs-create-group") == "true" && !group.empty()) {
        options_.logs->create_group(group);
      } else if (t.launch_type == "FARGATE") {
        return "ResourceInitializationError: failed to validate logger args: create stream has "
               "been retried 1 times: failed to create Cloudwatch log stream: "
               "ResourceNotFoundException: The specified log group does not exist. : exit status "
               "1";
      } else {
        return "CannotStartContainerError: Error response from daemon: failed to initialize "
               "logging driver: failed to create Cloudwatch log stream: "
               "ResourceNotFoundException: The specified log group does not exist.";
      }
    }
    for (auto& c : t.containers) {
      if (c.name != name) continue;
      LogForward f;
      f.group = group;
      f.stream = prefix.empty() ? std::string() : prefix + "/" + name + "/" + t.id;
      f.path = options_.log_dir + "/" + t.id + "-" + name + ".log";
      if (!f.stream.empty()) options_.logs->create_stream(group, f.stream);
      c.log = std::move(f);
    }
  }
  return {};
}

void Ecs::pump_logs(Task& t, bool flush) {
  for (auto& c : t.containers) pump_container_log(c, flush);
}

void Ecs::pump_container_log(Container& c, bool flush) {
  if (!c.log || !options_.logs || c.log->stream.empty()) return;
  auto& f = *c.log;
  int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char buf[65536];
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(f.offset));
    if (n <= 0) break;
    f.offset += static_cast<std::uint64_t>(n);
    f.partial.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  // The awslogs driver sends a line per event, stamped when it read it, without the newline;
  // a line longer than 256 KiB is split as Docker's log buffer does (16 KiB there).
  const auto stamp =
      std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch()).count();
  std::size_t start = 0;
  for (;;) {
    auto nl = f.partial.find('\n', start);
    if (nl == std::string::npos) break;
    options_.logs->append_quietly(f.group, f.stream,
                                  std::string_view(f.partial).substr(start, nl - start), stamp);
    start = nl + 1;
  }
  f.partial.erase(0, start);
  if ((flush && !f.partial.empty()) || f.partial.size() > 256 * 1024) {
    options_.logs->append_quietly(f.group, f.stream, f.partial, stamp);
    f.partial.clear();
  }
}

namespace {

// The memory a process is charged for, in bytes: its private resident pages (smaps_rollup's
// Private_Clean + Private_Dirty), as a memory cgroup charges pages to whoever touched them
// first. Resident pages it shares copy-on-write with the process it was forked from are not
// its own: the container's init is a fork of the sandbox, and under AddressSanitizer the
// sandbox's resident set alone is over a 64 MiB limit. Falls back to statm's resident set
// on a kernel without smaps_rollup.
std::uint64_t charged_memory(int pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  if (FILE* f = std::fopen((dir + "/smaps_rollup").c_str(), "r")) {
    std::uint64_t kib = 0;
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
      unsigned long long v = 0;
      if (std::sscanf(line, "Private_Clean: %llu kB", &v) == 1 ||
          std::sscanf(line, "Private_Dirty: %llu kB", &v) == 1)
        kib += v;
    }
    std::fclose(f);
    return kib * 1024;
  }
  static const long page = ::sysconf(_SC_PAGESIZE);
  std::uint64_t total = 0;
  if (FILE* f = std::fopen((dir + "/statm").c_str(), "r")) {
    unsigned long size = 0, resident = 0;
    if (std::fscanf(f, "%lu %lu", &size, &resident) == 2)
      total = static_cast<std::uint64_t>(resident) * static_cast<std::uint64_t>(page);
    std::fclose(f);
  }
  return total;
}

// The memory charged to the process tree under `root`, in bytes, and its PIDs (from /proc).
std::pair<std::uint64_t, std::vector<int>> tree_memory(int root,
                                                       const std::multimap<int, int>& children_of) {
  std::uint64_t total = 0;
  std::vector<int> pids{root}, stack{root};
  while (!stack.empty()) {
    int pid = stack.back();
    stack.pop_back();
    total += charged_memory(pid);
    auto [b, e] = children_of.equal_range(pid);
    for (auto it = b; it != e; ++it) {
      pids.push_back(it->second);
      stack.push_back(it->second);
    }
  }
  return {total, pids};
}

std::multimap<int, int> process_children() {
  std::multimap<int, int> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (auto* ent = ::readdir(d)) {
    int pid = std::atoi(ent->d_name);
    if (pid <= 0) continue;
    FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
    if (!f) continue;
    char buf[512];
    std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = 0;
    // "pid (comm) state ppid …": comm may hold spaces and parentheses; the last ')' ends it.
    const char* close = std::strrchr(buf, ')');
    int ppid = 0;
    char state = 0;
    if (close && std::sscanf(close + 1, " %c %d", &state, &ppid) == 2) out.emplace(ppid, pid);
  }
  ::closedir(d);
  return out;
}

}  // namespace

void Ecs::watch_memory() {
  bool any = false;
  for (const auto& [id, t] : tasks_) {
    for (const auto& c : t.containers) {
      any |= t.runtime_started && c.pid > 0 && c.memory_limit_mib > 0 && !c.exit_code;
    }
  }
  if (!any) return;
  const auto children = process_children();
  for (auto& [id, t] : tasks_) {
    if (!t.runtime_started) continue;
    for (auto& c : t.containers) {
      if (c.pid <= 0 || c.memory_limit_mib <= 0 || c.exit_code || c.oom_killed) continue;
      auto [charged, pids] = tree_memory(c.pid, children);
      if (charged <= static_cast<std::uint64_t>(c.memory_limit_mib) * 1024 * 1024) continue;
      // The cgroup's OOM killer: SIGKILL, the container exits with 137.
      c.oom_killed = true;
      for (int pid : pids) ::kill(pid, SIGKILL);
    }
  }
}

bool Ecs::run_health_checks(Task& t, TimePoint now_tp) {
  if (t.last_status != "RUNNING" || t.desired_status == "STOPPED") return false;
  bool changed = false;
  for (auto& c : t.containers) {
    if (!c.health || c.last_status != "RUNNING") continue;
    auto& h = *c.health;
    if (h.running_since) {
      if (now_tp - *h.running_since > h.timeout && h.process) h.process->kill(SIGKILL);
      continue;
    }
    if (now_tp < h.next) continue;
    runtime::ExecOptions o;
    o.tty = false;
    o.env.emplace_back("PATH", options_.container_path);
    auto started = runtime_.exec(t.id, c.name, h.argv, o);
    h.next = now_tp + h.interval;
    if (!started) {
      health_check_done(t.id, c.name, 127);
      changed = true;
      continue;
    }
    h.running_since = now_tp;
    h.process = started.value();
    std::string task_id = t.id, container = c.name;
    h.process->async_wait([this, task_id, container](int code) {
      health_check_done(task_id, container, code);
      if (env_.state_changed) env_.state_changed();
    });
  }
  return changed;
}

void Ecs::health_check_done(const std::string& task_id, const std::string& container, int code) {
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return;
  auto& t = it->second;
  for (auto& c : t.containers) {
    if (c.name != container || !c.health) continue;
    auto& h = *c.health;
    h.running_since.reset();
    h.process.reset();
    if (code == 0) {
      h.failures = 0;
      c.health_status = "HEALTHY";
    } else if (now() - t.started >= h.start_period || c.health_status == "HEALTHY") {
      // Failures within the start period do not count (until a first success).
      if (++h.failures >= h.retries) c.health_status = "UNHEALTHY";
    }
    if (c.health_status == "UNHEALTHY" && c.essential && t.desired_status != "STOPPED" &&
        t.group.starts_with("service:")) {
      // The service scheduler replaces a task whose essential container is unhealthy.
      auto s = services_.find(t.cluster + "/" + t.group.substr(8));
      request_stop(t, "Task failed container health checks", "ServiceSchedulerInitiated");
      if (s != services_.end()) {
        event(s->second, "(task " + t.id + ") failed container health checks.");
        event(s->second, "has stopped 1 running tasks: (task " + t.id + ").");
      }
    }
  }
}

std::string Ecs::exec_unsupported(const Task& t) const {
  if (t.launch_type == "FARGATE" && compare_versions(t.platform_version, "1.4.0") < 0) {
    return "Platform version " + t.platform_version +
           " does not support ECS Exec (1.4.0 or later needed)";
  }
  if (t.launch_type == "EC2") {
    auto cl = clusters_.find(t.cluster);
    if (cl == clusters_.end()) return {};
    for (const auto& [id, i] : cl->second.instances) {
      if (i.arn == t.container_instance_arn && compare_versions(i.agent_version, "1.50.2") < 0) {
        return "ECS agent " + i.agent_version +
               " does not support ECS Exec (1.50.2 or later needed)";
      }
    }
  }
  return {};
}

std::optional<std::pair<std::string, std::string>> Ecs::environment_keys(
    const Task& t, const std::string& container) const {
  const auto* def = task_definition(t.task_definition_arn);
  if (!def) return std::nullopt;
  std::optional<std::string> key_id, secret;
  for (const auto& cv : *get_arr(*def, "containerDefinitions")) {
    if (!cv.is_object() || get(cv.as_object(), "name") != container) continue;
    auto take = [&](const std::string& name, std::string value) {
      if (name == "AWS_ACCESS_KEY_ID") key_id = std::move(value);
      if (name == "AWS_SECRET_ACCESS_KEY") secret = std::move(value);
    };
    if (auto* env = get_arr(cv.as_object(), "environment")) {
      for (const auto& e : *env) {
        if (e.is_object()) take(get(e.as_object(), "name"), get(e.as_object(), "value"));
      }
    }
    if (auto* secrets = get_arr(cv.as_object(), "secrets")) {
      for (const auto& e : *secrets) {
        if (!e.is_object()) continue;
        auto value = secret_values_.find(get(e.as_object(), "valueFrom"));
        take(get(e.as_object(), "name"), value == secret_values_.end() ? "" : value->second);
      }
    }
  }
  if (!key_id) return std::nullopt;
  return std::make_pair(*key_id, secret.value_or(""));
}

std::string Ecs::agent_problem(const Task& t, const Container& c) const {
  auto cl = clusters_.find(t.cluster);
  std::string role = t.override_role;
  if (role.empty()) {
    if (const auto* def = task_definition(t.task_definition_arn)) role = get(*def, "taskRoleArn");
  }
  if (t.launch_type == "EC2" && cl != clusters_.end() && role.empty()) {
    for (const auto& [id, i] : cl->second.instances) {
      if (i.arn == t.container_instance_arn) role = i.instance_role_arn;
    }
  }
  // The SSM agent's credential chain reads the environment before the task role: AWS keys in
  // the container's environment (or secrets) replace the role for everything the agent does.
  std::string principal = role, whose = "the task role";
  if (auto keys = environment_keys(t, c.name)) {
    principal = env_.iam ? env_.iam->principal_of_key(keys->first, keys->second) : "";
    whose = "the AWS keys in the container's environment";
    if (principal.empty()) {
      return "The ExecuteCommandAgent uses " + whose + " (" + keys->first +
             "), which are not valid: UnrecognizedClientException";
    }
  }
  if (principal.empty() || !env_.iam)
    return "The ExecuteCommandAgent has no credentials: the task has no task role";
  for (const char* action : session::kExecChannelActions) {
    if (!env_.iam->evaluate(principal, action, "*", {}).allowed()) {
      return "AccessDeniedException: " + principal + " (" + whose +
             ") is not authorized to perform " + action;
    }
  }
  if (cl != clusters_.end()) {
    std::string key = kms_arn(cl->second);
    if (!key.empty() && !env_.iam->evaluate(principal, "kms:Decrypt", key, {}).allowed()) {
      return "AccessDeniedException: " + principal +
             " is not authorized to perform kms:Decrypt on " + key;
    }
    if (logging_on(cl->second)) {
      if (const auto* def = task_definition(t.task_definition_arn)) {
        for (const auto& cv : *get_arr(*def, "containerDefinitions")) {
          if (get(cv.as_object(), "name") == c.name &&
              get_bool(cv.as_object(), "readonlyRootFilesystem")) {
            return "The ExecuteCommandAgent cannot write its session logs: read-only file system";
          }
        }
      }
    }
  }
  auto sn = subnets_.find(t.subnet_id);
  bool route_out = sn == subnets_.end() ? true : sn->second.route_out;
  bool endpoint = sn != subnets_.end() && endpoint_vpcs_.count(sn->second.vpc_id) > 0;
  if (!route_out && !endpoint) return "unreachable";  // the agent retries; see TargetNotConnected
  return {};
}

void Ecs::decide_agents(Task& t, TimePoint now_tp) {
  if (!t.enable_execute_command) return;
  const std::string unsupported = exec_unsupported(t);
  for (auto& c : t.containers) {
    if (c.image.find("guardduty") != std::string::npos) continue;  // sidecars without an agent
    Agent a;
    a.started = now_tp;
    if (!unsupported.empty()) {
      // An ECS agent or platform without ECS Exec never starts an ExecuteCommandAgent: AWS
      // lists no managed agent.
      if (!options_.explain_exec_failures) continue;
      a.status = "STOPPED";
      a.reason = unsupported;
      c.agent = a;
      continue;
    }
    // Whatever keeps the agent from connecting (credentials, permissions, KMS, a read-only root
    // with logging, no route), ECS reports it RUNNING without a reason, and ExecuteCommand
    // fails with TargetNotConnectedException (checked when it is called: the agent keeps
    // retrying, so a fixed role lets it connect). The explaining mode stops it with the reason.
    std::string problem = agent_problem(t, c);
    if (problem.empty() || problem == "unreachable" || !options_.explain_exec_failures) {
      a.status = "RUNNING";
    } else {
      a.status = "STOPPED";
      a.reason = problem;
    }
    c.agent = a;
  }
}

bool Ecs::advance(Task& t, TimePoint now_tp) {
  if (t.last_status == "STOPPED") return false;
  if (t.desired_status == "STOPPED") {
    if (!t.stopping) {
      t.stopping = true;
      t.stopping_at = now_tp;
      t.last_status = "DEACTIVATING";
      if (t.runtime_started) {
        std::string id = t.id;
        runtime_.stop_task(id, std::chrono::milliseconds(1000), [this, id] {
          auto it = tasks_.find(id);
          if (it == tasks_.end()) return;
          auto& task = it->second;
          task.last_status = "STOPPED";
          task.stopped = now();
          task.runtime_started = false;
          for (auto& c : task.containers) {
            c.last_status = "STOPPED";
            if (!c.exit_code) c.exit_code = 143;
            if (c.agent) c.agent->status = "STOPPED";
            sessions_.terminate_for_container(id, c.name);
          }
          if (env_.state_changed) env_.state_changed();
        });
      } else {
        t.last_status = "STOPPED";
        t.stopped = now_tp;
      }
      return true;
    }
    if (t.last_status == "DEACTIVATING") {
      t.last_status = "STOPPING";
      return true;
    }
    return false;
  }
  if (t.last_status == "PROVISIONING") {
    t.last_status = "PENDING";
    return true;
  }
  if (t.last_status == "PENDING") {
    start_runtime(t, now_tp);
    if (t.last_status == "STOPPED") return true;
    t.last_status = "RUNNING";
    t.started = now_tp;
    decide_agents(t, now_tp);
    return true;
  }
  return false;
}

void Ecs::request_stop(Task& t, const std::string& reason, const std::string& code) {
  if (t.desired_status == "STOPPED") return;
  t.desired_status = "STOPPED";
  t.stopped_reason = reason;
  t.stop_code = code;
}

void Ecs::event(Service& s, const std::string& message) {
  json::object e{{"id", crypto::uuid4()},
                 {"createdAt", epoch_seconds(now())},
                 {"message", "(service " + s.name + ") " + message}};
  s.events.insert(s.events.begin(), std::move(e));
  if (s.events.size() > 100) s.events.resize(100);
}

bool Ecs::reconcile(Service& s, TimePoint now_tp) {
  if (s.status != "ACTIVE" && s.status != "DRAINING") return false;
  if (s.deployments.empty()) return false;
  bool changed = false;
  Deployment& primary = s.deployments.front();
  // A task counts as running for the rollout once it has stayed up a moment: one that crashes
  // at once neither replaces an old task nor completes the deployment (ECS waits for a steady
  // state too).
  const auto stable = std::chrono::milliseconds(1500);
  auto tasks_of = [this, &s, now_tp, stable](const std::string& deployment, bool running_only) {
    std::vector<Task*> out;
    for (auto& [id, t] : tasks_) {
      if (t.group != "service:" + s.name || t.cluster != s.cluster) continue;
      if (t.deployment_id != deployment || t.desired_status == "STOPPED") continue;
      if (running_only && (t.last_status != "RUNNING" || now_tp - t.started < stable)) continue;
      out.push_back(&t);
    }
    return out;
  };
  int desired = s.status == "DRAINING" ? 0 : s.desired;
  primary.desired = desired;
  auto primary_tasks = tasks_of(primary.id, false);
  int old_count = 0;
  for (std::size_t i = 1; i < s.deployments.size(); ++i) {
    old_count += static_cast<int>(tasks_of(s.deployments[i].id, false).size());
  }
  // Count failures: tasks of this deployment that stopped on their own.
  int failed = 0;
  for (auto& [id, t] : tasks_) {
    if (t.deployment_id == primary.id && t.last_status == "STOPPED" &&
        ((t.stop_code != "UserInitiated" && t.stop_code != "ServiceSchedulerInitiated") ||
         t.stopped_reason == "Task failed container health checks")) {
      ++failed;
    }
  }
  if (failed != primary.failed) {
    primary.failed = failed;
    changed = true;
  }
  if (primary.rollout_state == "IN_PROGRESS" && s.circuit_breaker && primary.failed >= 3) {
    primary.rollout_state = "FAILED";
    primary.rollout_reason = "ECS deployment circuit breaker: tasks failed to start.";
    event(s, "(deployment " + primary.id + ") deployment failed: tasks failed to start.");
    changed = true;
    if (s.rollback && !s.completed_deployment.empty() &&
        task_definition(s.completed_task_definition)) {
      // Back to the last deployment that completed, as a new deployment of its task definition.
      const std::string back_to = s.completed_deployment;
      s.task_definition = s.completed_task_definition;
      for (auto& d : s.deployments) d.status = "ACTIVE";
      Deployment d = new_deployment(s);
      d.rollout_reason =
          "ECS deployment circuit breaker: rolling back to deploymentId " + back_to + ".";
      s.deployments.insert(s.deployments.begin(), d);
      event(s, "rolling back to deployment " + back_to + ".");
      return true;
    }
  }
  if (primary.rollout_state == "FAILED") return changed;

  int max_total = std::max(desired, desired * s.max_percent / 100);
  int have = static_cast<int>(primary_tasks.size());
  std::vector<std::string> started_ids;
  while (have < desired && have + old_count < std::max(max_total, desired)) {
    const json::object* def = task_definition(primary.task_definition);
    if (!def) break;
    std::string subnet = s.subnets.empty() ? std::string() : s.subnets.front();
    auto t = launch(s.cluster, *def, "service:" + s.name, "ecs-svc/" + primary.id.substr(8),
                    s.launch_type, s.platform_version, s.enable_execute_command, subnet, "", "",
                    primary.id);
    if (!t) break;
    started_ids.push_back(t.value()->id);
    ++have;
    changed = true;
  }
  if (!started_ids.empty()) {
    std::string list;
    for (const auto& id : started_ids)
      list += (list.empty() ? "" : " ") + std::string("(task ") + id + ")";
    event(s, "has started " + std::to_string(started_ids.size()) + " tasks: " + list + ".");
  }
  // Scale down the primary when desired dropped.
  if (have > desired) {
    for (auto* t : primary_tasks) {
      if (have <= desired) break;
      request_stop(*t, "Scaling activity initiated by (deployment " + primary.id + ")",
                   "ServiceSchedulerInitiated");
      --have;
      changed = true;
    }
  }
  // Drain old deployments as the new one's tasks run, keeping minimumHealthyPercent.
  int running_new = static_cast<int>(tasks_of(primary.id, true).size());
  int min_healthy = desired * s.min_healthy / 100;
  for (std::size_t i = 1; i < s.deployments.size(); ++i) {
    auto old = tasks_of(s.deployments[i].id, false);
    for (auto* t : old) {
      int healthy_without = running_new + old_count - 1;
      if (running_new < desired && healthy_without < min_healthy) break;
      request_stop(*t, "Task stopped by ECS: replaced by a new deployment",
                   "ServiceSchedulerInitiated");
      --old_count;
      changed = true;
    }
  }
  // Retire deployments with no tasks left.
  for (std::size_t i = 1; i < s.deployments.size();) {
    bool any = false;
    for (auto& [id, t] : tasks_) {
      if (t.deployment_id == s.deployments[i].id && t.last_status != "STOPPED") any = true;
    }
    if (!any) {
      s.deployments.erase(s.deployments.begin() + static_cast<long>(i));
      changed = true;
    } else {
      ++i;
    }
  }
  if (primary.rollout_state == "IN_PROGRESS" && s.deployments.size() == 1 &&
      running_new == desired) {
    primary.rollout_state = "COMPLETED";
    primary.rollout_reason = "ECS deployment " + primary.id + " completed.";
    s.completed_deployment = primary.id;
    s.completed_task_definition = primary.task_definition;
    primary.updated = now_tp;
    event(s, "(deployment " + primary.id + ") deployment completed.");
    event(s, "has reached a steady state.");
    changed = true;
  }
  return changed;
}

// ---- JSON shapes ------------------------------------------------------------------------------

json::object Ecs::task_json(const Task& t) const {
  json::object o;
  o["taskArn"] = t.arn;
  o["clusterArn"] = arn(t.region, "cluster/" + t.cluster);
  o["taskDefinitionArn"] = t.task_definition_arn;
  o["lastStatus"] = t.last_status;
  o["desiredStatus"] = t.desired_status;
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
      unhealthy |= c.health_status == "UNHEALTHY";
      all_healthy &= c.health_status == "HEALTHY";
    }
    o["healthStatus"] = unhealthy ? "UNHEALTHY" : any_check && all_healthy ? "HEALTHY" : "UNKNOWN";
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
  if (t.last_status == "STOPPED") {
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
        {"status", t.last_status == "STOPPED" ? "DELETED" : "ATTACHED"},
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
        {"lastStatus", c.last_status},
        {"networkBindings", json::array{}},
        {"networkInterfaces", json::array{}},
        {"healthStatus", c.health_status},
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
                     {"lastStatus", c.agent->status},
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
    if (t.group != "service:" + s.name || t.cluster != s.cluster || t.desired_status == "STOPPED")
      continue;
    if (t.last_status == "RUNNING") {
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
                   {"status", d.status},
                   {"taskDefinition", d.task_definition},
                   {"desiredCount", d.desired},
                   {"pendingCount", counts.second},
                   {"runningCount", counts.first},
                   {"failedTasks", d.failed},
                   {"createdAt", epoch_seconds(d.created)},
                   {"updatedAt", epoch_seconds(d.updated)},
                   {"launchType", s.launch_type},
                   {"rolloutState", d.rollout_state}};
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
      {"status", s.status},
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
    if (t.cluster != c.name || t.desired_status == "STOPPED") continue;
    (t.last_status == "RUNNING" ? running : pending)++;
  }
  for (const auto& [k, s] : services_) services += s.cluster == c.name && s.status == "ACTIVE";
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
    if (t.container_instance_arn != i.arn || t.desired_status == "STOPPED") continue;
    (t.last_status == "RUNNING" ? running : pending)++;
  }
  (void)c;
  return json::object{
      {"containerInstanceArn", i.arn},
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
      {"attributes", json::array{json::object{{"name", "ecs.subnet-id"}, {"value", i.subnet_id}},
                                 json::object{{"name", "ecs.vpc-id"},
                                              {"value", subnets_.count(i.subnet_id)
                                                            ? subnets_.at(i.subnet_id).vpc_id
                                                            : "vpc-0ec5a0d0000000001"}},
                                 json::object{{"name", "ecs.capability.execute-command"}}}},
      {"registeredResources", json::array{}},
      {"remainingResources", json::array{}},
      {"tags", json::array{}}};
}

// ---- routes -----------------------------------------------------------------------------------

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
  add("ListClusters", [this](RequestContext& ctx, const json::object&) -> ApiResult<json::value> {
    BOOST_OUTCOME_TRY(ctx.authorize("ecs:ListClusters", "*"));
    json::array arns;
    for (const auto& [n, c] : clusters_) {
      if (c.region == ctx.region) arns.emplace_back(c.arn);
    }
    return json::object{{"clusterArns", arns}};
  });
  add("DeleteCluster",
      [this](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        BOOST_OUTCOME_TRY(auto* c, find_cluster(req, ctx));
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:DeleteCluster", c->arn));
        for (const auto& [k, s] : services_) {
          if (s.cluster == c->name && s.status == "ACTIVE") {
            return ApiError::client("ClusterContainsServicesException",
                                    "The Cluster cannot be deleted while Services are active.");
          }
        }
        for (const auto& [id, t] : tasks_) {
          if (t.cluster == c->name && t.last_status != "STOPPED") {
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
        return json::object{{"taskDefinitionArns", arns}};
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
        if (services_.count(key) && services_[key].status == "ACTIVE") {
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
    if (it == services_.end() || it->second.status == "INACTIVE") {
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
          for (auto& d : s->deployments) d.status = "ACTIVE";
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
          if (s.cluster == cluster && s.status == "ACTIVE") arns.emplace_back(s.arn);
        }
        return json::object{{"serviceArns", arns}};
      });
  add("DeleteService",
      [this, find_service](RequestContext& ctx, const json::object& req) -> ApiResult<json::value> {
        BOOST_OUTCOME_TRY(auto* s, find_service(ctx, req, "service"));
        BOOST_OUTCOME_TRY(ctx.authorize("ecs:DeleteService", s->arn));
        if (s->desired > 0 && !get_bool(req, "force")) {
          return invalid("The service cannot be stopped while it is scaled above 0.");
        }
        s->status = "DRAINING";
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
      if (desired == "STOPPED" ? t.desired_status != "STOPPED" : t.desired_status == "STOPPED")
        continue;
      if (!launch_type.empty() && t.launch_type != launch_type) continue;
      if (!instance.empty() && t.container_instance_arn != instance &&
          last_segment(t.container_instance_arn) != instance)
        continue;
      if (!started_by.empty() && t.started_by != started_by) continue;
      arns.emplace_back(t.arn);
    }
    return json::object{{"taskArns", arns}};
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
        return json::object{{"containerInstanceArns", arns}};
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
        if (t->last_status != "RUNNING" || !t->enable_execute_command || !container->agent ||
            container->agent->status != "RUNNING") {
          return invalid(kNotEnabled);
        }
        // The agent runs but never connected (no route, or credentials that may not use
        // ssmmessages, KMS or the logs): AWS's opaque answer.
        if (!agent_problem(*t, *container).empty()) {
          return ApiError::client(
              "TargetNotConnectedException",
              "The execute command failed due to an internal error. Try again later.");
        }
        // The caller needs kms:GenerateDataKey when the cluster encrypts sessions (checked by KMS
        // when the client asks for the data key).
        ssm::SessionRecord r;
        r.target = "ecs:" + t->cluster + "_" + t->id + "_" + container->runtime_id;
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

// ---- persistence and scenarios ----------------------------------------------------------------

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
                                         {"status", d.status},
                                         {"task_definition", d.task_definition},
                                         {"rollout_state", d.rollout_state},
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
                                    {"status", s.status},
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
    if (t.last_status == "STOPPED" || t.group.empty()) continue;
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
      s.status = get(j, "status");
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
          d.status = get(dj, "status");
          d.task_definition = get(dj, "task_definition");
          d.rollout_state = get(dj, "rollout_state");
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

std::unique_ptr<EcsModule> make_ecs_module(runtime::TaskRuntime& runtime,
                                           ssm::SessionRegistry& sessions, EcsOptions options) {
  return std::make_unique<Ecs>(runtime, sessions, std::move(options));
}

}  // namespace ecsh::sandbox::ecs
