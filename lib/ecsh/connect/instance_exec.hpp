#pragma once

// `ecsh exec --via ec2` (docs/exec.md "Method 2"): into a container of an EC2-launch task through
// its container instance. Finds the instance (DescribeTasks → DescribeContainerInstances →
// ec2InstanceId → DescribeInstances), reaches it by an SSM session to the instance (ecsh's own
// session client, no keys) or by the system `ssh` client (so ~/.ssh/config, the agent and
// ProxyJump apply), picks the container there by its ECS labels (the image only as a fallback,
// asking when that is ambiguous) and runs `docker exec` (exec/instance_command.hpp).

#include "ecsh/connect/exec_session.hpp"
#include "ecsh/ecs/target_match.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace ecsh::connect {

struct InstanceAccess {
  bool force_ssh = false;  // --ssh: even when the instance is SSM-managed
  std::string ssh_user = "ec2-user";
  std::string identity;                  // -i FILE
  std::vector<std::string> ssh_options;  // each passed as `-o OPTION`
  std::string address = "auto";          // private | public | auto (private when there is one)
  std::string ssh_program = "ssh";
  std::string container_id;  // --container-id: the docker container (ID prefix) when ambiguous
};

struct InstanceInfo {
  std::string instance_id;
  std::string private_ip, public_ip;
  bool ssm_managed = false;              // listed by DescribeInstanceInformation and Online
  std::string ssm_ping_status;           // as listed; empty when not an SSM managed instance
  std::optional<Error> addresses_error;  // DescribeInstances failed (addresses unknown)
};

// Why Method 2 cannot apply to this task (Fargate, no container instance), or nothing.
std::optional<std::string> method2_unavailable(const ecs::ResolvedTarget& target);

// The PingStatus of `instance_id` in a DescribeInstanceInformation response; nothing when it is
// not listed (not an SSM managed instance).
Result<std::optional<std::string>> ssm_ping_status(const boost::json::object& response,
                                                   const std::string& instance_id);

Awaitable<Result<InstanceInfo>> find_instance(aws::AwsClient& client,
                                              const ecs::ResolvedTarget& target,
                                              bool need_ssm_status);

// Interactive when `words` is empty. Returns the exit code ecsh should exit with.
Awaitable<Result<int>> run_via_instance(aws::AwsClient& client, const ecs::ResolvedTarget& target,
                                        const InstanceAccess& access,
                                        const std::vector<std::string>& words, bool forward_stdin,
                                        const ExecSettings& settings, const ecs::Picker& picker);

}  // namespace ecsh::connect
