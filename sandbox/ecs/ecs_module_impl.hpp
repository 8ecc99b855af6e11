#pragma once

// The ECS module's class, shared by the files that implement it (see ecs_module.hpp for which
// does what). Not for use outside sandbox/ecs/: make_ecs_module() is the way in.

#include "sandbox/ecs/ecs_model.hpp"
#include "sandbox/ecs/ecs_module.hpp"
#include "sandbox/ecs/ecs_support.hpp"
#include "sandbox/ecs/exec_agent_rules.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ecsh::sandbox::ecs {

class Ecs final : public EcsModule {
 public:
  Ecs(runtime::TaskRuntime& rt, ssm::SessionRegistry& sessions, EcsOptions o)
      : runtime_(rt), sessions_(sessions), options_(std::move(o)) {}

  std::string name() const override { return "ecs"; }
  void attach(const ModuleEnvironment& env) override { env_ = env; }
  void tick(TimePoint now) override;
  void shutdown() override;
  std::size_t running_tasks() const override;
  std::optional<ssm::TargetInfo> resolve_target(const std::string& target) const override;
  std::vector<ssm::ManagedInstance> managed_instances() const override;

  void register_routes(Router& router) override;  // ecs_routes.cpp
  json::value save() const override;              // ecs_persistence.cpp
  void load(const json::value& state) override;
  ApiResult<void> apply_scenario(const json::object& scenario) override;

 private:
  TimePoint now() const { return env_.clock ? env_.clock() : Clock::now(); }
  std::string arn(const std::string& region, const std::string& rest) const {
    return "arn:aws:ecs:" + region + ":" + std::string(kAccount) + ":" + rest;
  }
  static std::string kms_arn(const Cluster& c) { return get(c.exec_config, "kmsKeyId"); }
  static std::string log_group(const Cluster& c);
  static bool logging_on(const Cluster& c) {
    return !c.exec_config.empty() && get(c.exec_config, "logging", "DEFAULT") != "NONE";
  }

  ApiResult<Cluster*> find_cluster(const json::object& req, const RequestContext& ctx);
  // A task definition by family, family:revision, or ARN (family: its latest ACTIVE revision).
  const json::object* task_definition(const std::string& ref) const;
  ApiResult<json::object> register_task_definition(const json::object& req,
                                                   const std::string& region,
                                                   const std::string& registered_by);

  // ---- task_lifecycle.cpp ----
  ApiResult<Task*> launch(const std::string& cluster, const json::object& def,
                          const std::string& group, const std::string& started_by,
                          const std::string& launch_type, const std::string& platform_version,
                          bool exec, const std::string& subnet, const std::string& override_role,
                          const std::string& container_instance, const std::string& deployment_id);
  bool advance(Task& t, TimePoint now);
  void start_runtime(Task& t, TimePoint now);
  void request_stop(Task& t, const std::string& reason, const std::string& code);

  // ---- exec_agent_facts.cpp ----
  // Gives the task's containers their ExecuteCommandAgent, as the task starts.
  void decide_agents(Task& t, TimePoint now);
  // What exec_agent_rules.hpp decides from, for a container of the task, as things are now.
  ExecAgentFacts exec_agent_facts(const Task& t, const Container& c) const;
  // Whether the container's agent runs and connects now (ExecuteCommand opens a session).
  bool agent_connects(const Task& t, const Container& c) const;
  // A real agent's view of its container (--agent-binaries): identity, metadata, role.
  ssm::ExternalAgentTarget external_agent_target(const Task& t, const Container& c) const;
  // Starts real agents for the task's RUNNING ExecuteCommandAgents (--agent-binaries).
  void start_external_agents(const Task& t);

  // ---- container_watch.cpp ----
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

  // ---- service_scheduler.cpp ----
  bool reconcile(Service& s, TimePoint now);
  // A new PRIMARY deployment of the service's current task definition and settings.
  Deployment new_deployment(const Service& s) const;
  void event(Service& s, const std::string& message);

  // ---- ecs_shapes.cpp ----
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

}  // namespace ecsh::sandbox::ecs
