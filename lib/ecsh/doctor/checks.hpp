#pragma once

// Doctor's verdicts: one line per check, grouped as the user thinks (you → cluster → service →
// task → each container → network), each ✗ with the exact fix and whether `ecsh enable` can
// apply it. Pure.

#include "ecsh/doctor/facts.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace ecsh::doctor {

// The checks' IDs, stable and documented in docs/doctor.md (`--output json` prints them). Code
// that acts on verdicts (enable's plan) names them from here.
namespace check_id {
inline constexpr std::string_view caller_identity = "caller.identity";
inline constexpr std::string_view caller_execute_command = "caller.execute_command";
inline constexpr std::string_view caller_kms_generate_data_key = "caller.kms_generate_data_key";
inline constexpr std::string_view cluster_exists = "cluster.exists";
inline constexpr std::string_view cluster_kms_key = "cluster.kms_key";
inline constexpr std::string_view cluster_logging = "cluster.logging";
inline constexpr std::string_view cluster_log_group = "cluster.log_group";
inline constexpr std::string_view service_exec_enabled = "service.exec_enabled";
inline constexpr std::string_view service_redeploy_needed = "service.redeploy_needed";
inline constexpr std::string_view service_running_tasks = "service.running_tasks";
inline constexpr std::string_view task_status = "task.status";
inline constexpr std::string_view task_exec_enabled = "task.exec_enabled";
inline constexpr std::string_view task_platform_version = "task.platform_version";
inline constexpr std::string_view task_agent_version = "task.agent_version";
inline constexpr std::string_view task_instance_exec_capability = "task.instance_exec_capability";
inline constexpr std::string_view task_role = "task.role";
inline constexpr std::string_view task_role_ssmmessages = "task.role_ssmmessages";
inline constexpr std::string_view task_role_kms_decrypt = "task.role_kms_decrypt";
// One check per CloudWatch Logs action the role lacks: "task.role_logs_PutLogEvents", …
inline constexpr std::string_view task_role_logs_prefix = "task.role_logs_";
inline constexpr std::string_view task_pid_mode = "task.pid_mode";
inline constexpr std::string_view container_exec_agent = "container.exec_agent";
inline constexpr std::string_view container_read_only_root = "container.read_only_root";
inline constexpr std::string_view container_init_process = "container.init_process";
inline constexpr std::string_view container_credential_env = "container.credential_env";
inline constexpr std::string_view network_ssmmessages = "network.ssmmessages";
inline constexpr std::string_view client_stream_reachable = "client.stream_reachable";
inline constexpr std::string_view client_clock = "client.clock";
inline constexpr std::string_view client_credentials_lifetime = "client.credentials_lifetime";
}  // namespace check_id

enum class Status { ok, fail, unknown, info };

struct Check {
  std::string id;  // one of check_id: "caller.execute_command", …
  std::string
      group;  // "you", "client", "cluster", "service", "task", "container:<name>", "network"
  Status status = Status::info;
  std::string title;   // "ecs:ExecuteCommand allowed for you"
  std::string detail;  // what was found
  std::string fix;     // what to do (empty when ok)
  bool fixable_by_enable = false;
};

std::vector<Check> evaluate(const Facts& facts);

// Exec will work: no check failed. (Unknown checks are reported but do not fail the verdict.)
bool exec_ready(const std::vector<Check>& checks);

const char* status_name(Status s);  // "ok", "fail", "unknown", "info"

}  // namespace ecsh::doctor
