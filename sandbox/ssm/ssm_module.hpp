#pragma once

// SSM of the sandbox: StartSession (to an ECS container target or a managed instance),
// ResumeSession, TerminateSession, DescribeSessions, DescribeInstanceInformation, and
// GetDocument for the Session Manager preferences (SSM-SessionManagerRunShell).

#include "sandbox/api.hpp"
#include "sandbox/ssm/sessions.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

namespace ecsh::sandbox::ssm {

// Where a target string ("ecs:<cluster>_<taskId>_<runtimeId>", "i-…") leads.
struct TargetInfo {
  std::string task_id;    // runtime task ID
  std::string container;  // container name
  std::string kms_key_arn;
  std::string log_group;
  bool agent_connected = true;  // false: TargetNotConnected
  bool host = false;            // a managed instance: the session runs on the host
};
using TargetResolver = std::function<std::optional<TargetInfo>(const std::string& target)>;

struct ManagedInstance {
  std::string instance_id;
  std::string agent_version{kBuiltInAgentVersion};
  std::string ip_address;
};
using InstanceLister = std::function<std::vector<ManagedInstance>()>;

// The account's Session Manager preferences. AWS keeps them in the document
// SSM-SessionManagerRunShell, which exists only once someone has saved preferences: with the
// defaults (20 minutes idle, no maximum duration) GetDocument says it does not exist.
struct SessionPreferences {
  std::chrono::seconds idle_timeout{20 * 60};
  std::chrono::seconds max_session_duration{0};  // 0: none
};

std::unique_ptr<ServiceModule> make_ssm_module(SessionRegistry& sessions, TargetResolver resolve,
                                               InstanceLister instances,
                                               SessionPreferences preferences = {});

}  // namespace ecsh::sandbox::ssm
