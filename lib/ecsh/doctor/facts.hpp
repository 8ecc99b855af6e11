#pragma once

// What doctor learns about one exec target before judging it. Gathering (gather.cpp) calls the
// APIs; judging (checks.cpp) is pure, so every verdict is unit-tested from hand-built facts.
// A fact that could not be learned carries why (usually a missing permission), so the check
// says "cannot tell" instead of guessing.

#include "ecsh/ecs/ecs_view.hpp"
#include "ecsh/session/agent_permissions.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace ecsh::doctor {

// The four ssmmessages actions the SSM agent in a task needs for ECS Exec, on the task role:
// doctor checks them, enable grants them.
using session::kExecChannelActions;

// The outcome of one IAM policy simulation.
struct Permission {
  std::string action;
  std::string resource;
  std::string decision;  // "allowed", "implicitDeny", "explicitDeny"; empty when unknown
  std::string unknown_reason;
  bool allowed() const { return decision == "allowed"; }
};

struct ContainerDefinitionFacts {
  std::string name;
  bool read_only_root = false;
  bool init_process_enabled = false;
  // AWS keys set in the container: only named, since the SSM agent of ECS Exec ignores them
  // (checks.cpp, credential_env_check).
  std::vector<std::string> credential_env;      // AWS_ACCESS_KEY_ID, … set in `environment`
  std::vector<std::string> credential_secrets;  // the same names set from `secrets`
};

struct Facts {
  std::string region;

  // You.
  std::string caller_arn;
  std::string caller_policy_source;  // the ARN simulations run against (role for assumed roles)
  std::string caller_unknown_reason;
  Permission caller_execute_command;
  std::optional<Permission> caller_generate_data_key;  // only when the cluster has a KMS key

  // Cluster.
  std::string cluster_arn, cluster_name;
  std::optional<ecs::ClusterStatus> cluster_status;  // nothing: not learned (the reason below)
  std::string cluster_unknown_reason;
  std::string kms_key_id;              // executeCommandConfiguration.kmsKeyId
  std::optional<bool> kms_key_usable;  // exists and Enabled
  std::string kms_unknown_reason;
  std::string logging;  // NONE, DEFAULT, OVERRIDE ("" = not configured)
  std::string log_group;
  std::optional<bool> log_group_exists;
  std::string s3_bucket;

  // Service (when the target is a service).
  std::optional<ecs::ServiceView> service;
  std::vector<ecs::TaskView> service_tasks;  // its RUNNING/PENDING tasks

  // Task.
  std::optional<ecs::TaskView> task;
  std::string task_unknown_reason;
  std::string task_definition;  // family:revision
  std::string pid_mode;
  std::string network_mode;
  std::vector<ContainerDefinitionFacts> container_definitions;
  std::string agent_version;  // EC2: the container instance's ECS agent
  // EC2: the instance registered ecs.capability.execute-command (its ECS agent has the SSM
  // agent's binaries to start in containers); nullopt when the instance was not read.
  std::optional<bool> instance_exec_capability;
  std::string ec2_instance_id;

  // The role the exec agent uses and what it may do.
  std::string role_arn;
  std::string role_source;  // "task role", "task role (overridden)", "EC2 instance role"
  std::string role_unknown_reason;
  std::vector<Permission> role_permissions;

  // Network path to ssmmessages.
  std::string subnet_id, vpc_id;
  std::optional<bool> ssmmessages_endpoint;  // interface endpoint with private DNS in the VPC
  std::optional<bool> route_out;             // 0.0.0.0/0 to an internet or NAT gateway
  std::string network_unknown_reason;

  // This machine: what a session needs on the client's side. Not gathered (doctor --all, which
  // says it once): `client_gathered` false, and no check is made.
  bool client_gathered = false;
  std::string stream_host;   // where sessions' WebSockets go: ssmmessages.REGION.amazonaws.com
  std::string stream_error;  // why this machine could not reach it ("" when it did)
  std::string stream_via;    // "through proxy http://…", or "" for a direct connection
  std::optional<std::chrono::seconds> clock_skew;  // AWS's Date minus this machine's clock
  bool credentials_expire = false;                 // temporary credentials with a known end
  std::chrono::seconds credentials_left{0};        // how long they last from now
  std::string credentials_source;                  // "profile dev (sso)", "environment", …
};

}  // namespace ecsh::doctor
