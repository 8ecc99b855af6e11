#pragma once

// Whether ECS Exec works for a task's container, decided from facts alone (no I/O, no IAM
// calls): whether the container lists an ExecuteCommandAgent, with which status and reason,
// and whether that agent connects to ssmmessages so that ExecuteCommand can open a session.
// The rules, as AWS applies them:
//   - only a task launched with enableExecuteCommand gets agents, and a GuardDuty sidecar never
//     has one;
//   - an ECS agent older than 1.50.2 (EC2), or one without the SSM agent's binaries (a custom
//     AMI without /var/lib/ecs/deps/execute-command: the instance lacks the attribute
//     ecs.capability.execute-command), or a platform older than 1.4.0 (Fargate) starts no
//     ExecuteCommandAgent at all;
//   - a task with pidMode "task" shares one PID namespace, and ECS Exec runs one agent per PID
//     namespace: only one container (AWS does not say which; here the first that can have one)
//     can be exec'd into, the others' agents show RUNNING and never connect (containers-roadmap
//     issue 2268, the ECS Exec considerations);
//   - the agent acts with the task role (the run's override, the task definition's, or on EC2
//     the instance role), from the container credentials endpoint only: AWS keys in the
//     container's environment are ignored (SSM agent 3.1.1260.0 and later, commit 10881362;
//     checked against the real agent, sandbox/README.md);
//   - it connects only when those credentials are valid and allow the four ssmmessages actions,
//     may kms:Decrypt with the cluster's exec key when one is set, the root filesystem is
//     writable when session logging is on, and the task can reach ssmmessages (a route out, or
//     an interface endpoint with private DNS).
// Whatever keeps it from connecting, AWS shows the agent RUNNING and ExecuteCommand fails with
// TargetNotConnectedException. The explaining mode (--explain-exec-failures, for exploring by
// hand) stops it with the reason instead, except for the network: there the agent keeps
// retrying, RUNNING.
// The ECS module gathers the facts (exec_agent_facts.cpp) when a task starts, and again when
// ExecuteCommand is called: a role fixed since then lets the agent connect.

#include "sandbox/ecs/ecs_status.hpp"

#include <array>
#include <optional>
#include <set>
#include "ecsh/session/agent_permissions.hpp"

#include <string>
#include <string_view>

namespace ecsh::sandbox::ecs {

// What the agent needs to be allowed on "*" to open its channels: the four that doctor checks
// and enable grants (ecsh/session/agent_permissions.hpp).
inline constexpr const auto& kExecAgentSsmActions = session::kExecChannelActions;

// Where the task runs.
struct ExecPlatform {
  std::string launch_type;       // "FARGATE" or "EC2"
  std::string platform_version;  // Fargate's, e.g. "1.4.0"
  // EC2: the ECS agent version of the task's container instance; nullopt when it is not known.
  std::optional<std::string> ecs_agent_version;
  // EC2: the instance has the SSM agent's binaries the ECS agent bind-mounts into containers.
  bool instance_has_exec_binaries = true;
};

// A GuardDuty runtime-monitoring sidecar (by its image): AWS starts no ExecuteCommandAgent in it.
bool is_guardduty_sidecar(std::string_view image);

// Whether a container instance offers ECS Exec: the ECS agent is 1.50.2 or later and has the
// SSM agent's binaries; it then registers the attribute ecs.capability.execute-command.
bool instance_offers_exec(std::string_view ecs_agent_version, bool has_exec_binaries);

// The credentials within the agent's reach.
struct ExecCredentials {
  // The task role: the run's override, the task definition's, or on EC2 the instance role.
  // Empty: none.
  std::string task_role_arn;
};

struct ExecAgentFacts {
  bool exec_enabled = false;  // the task was launched with enableExecuteCommand
  std::string image;          // the container's image
  ExecPlatform platform;
  ExecCredentials credentials;
  // What IAM allows credentials.task_role_arn (whom the agent acts as): any of
  // kExecAgentSsmActions (on "*"), and "kms:Decrypt" (on kms_key_arn).
  std::set<std::string, std::less<>> allowed_actions;
  std::string kms_key_arn;            // the cluster's exec kmsKeyId; empty: sessions not encrypted
  bool session_logging = false;       // the cluster logs exec sessions (logging is not NONE)
  bool read_only_root = false;        // the container's readonlyRootFilesystem
  bool route_out = true;              // the task's subnet routes to the internet (or a NAT)
  bool ssmmessages_endpoint = false;  // its VPC has an ssmmessages endpoint with private DNS
  // pidMode "task": the container whose agent holds the task's one PID namespace, when it is
  // another one than this; empty when the namespace is not shared or this container holds it.
  std::string pid_namespace_agent_in;
};

// How a failing agent is shown.
enum class AgentReporting {
  as_aws,     // RUNNING whatever keeps it from connecting; not listed where unsupported
  explained,  // STOPPED with the reason (EcsOptions::explain_exec_failures)
};

struct ExecAgentDecision {
  bool listed = false;  // the container lists an ExecuteCommandAgent (managedAgents)
  AgentStatus status = AgentStatus::stopped;  // its lastStatus, when listed
  std::string reason;                         // its reason, when listed and STOPPED
  bool connects = false;  // it runs and reaches ssmmessages: ExecuteCommand opens a session
  std::string problem;    // why it does not connect; empty when it does
};

ExecAgentDecision decide_exec_agent(const ExecAgentFacts& facts, AgentReporting reporting);

}  // namespace ecsh::sandbox::ecs
