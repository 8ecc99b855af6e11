#include "ecsh/doctor/checks.hpp"

#include "ecsh/common/version.hpp"
#include "ecsh/ecs/exec_readiness.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace ecsh::doctor {

const char* status_name(Status s) {
  switch (s) {
    case Status::ok:
      return "ok";
    case Status::fail:
      return "fail";
    case Status::unknown:
      return "unknown";
    case Status::info:
      return "info";
  }
  return "info";
}

bool exec_ready(const std::vector<Check>& checks) {
  return std::none_of(checks.begin(), checks.end(),
                      [](const Check& c) { return c.status == Status::fail; });
}

namespace {

constexpr const char* kMinAgent = "1.50.2";
constexpr const char* kMinPlatform = "1.4.0";

struct Builder {
  std::vector<Check> out;
  Check& add(std::string_view id, std::string group, Status status, std::string title,
             std::string detail = {}, std::string fix = {}, bool fixable = false) {
    Check c;
    c.id = std::string(id);
    c.group = std::move(group);
    c.status = status;
    c.title = std::move(title);
    c.detail = std::move(detail);
    c.fix = std::move(fix);
    c.fixable_by_enable = fixable;
    out.push_back(std::move(c));
    return out.back();
  }
};

std::string simulate_fix(const std::string& who) {
  return "Grant iam:SimulatePrincipalPolicy to " + who + " so that doctor can check this.";
}

void caller_checks(const Facts& f, Builder& b) {
  if (f.caller_arn.empty()) {
    b.add(check_id::caller_identity, "you", Status::unknown, "who you are", f.caller_unknown_reason,
          "Check your credentials with: ecsh whoami");
  } else {
    b.add(check_id::caller_identity, "you", Status::ok, "signed in as " + f.caller_arn);
  }
  const auto& p = f.caller_execute_command;
  std::string title = "ecs:ExecuteCommand allowed for you";
  if (p.decision.empty()) {
    b.add(check_id::caller_execute_command, "you", Status::unknown, title,
          "cannot tell: " + p.unknown_reason, simulate_fix(f.caller_arn));
  } else if (p.allowed()) {
    b.add(check_id::caller_execute_command, "you", Status::ok, title);
  } else if (p.decision == "explicitDeny") {
    b.add(check_id::caller_execute_command, "you", Status::fail, title,
          "an explicit Deny in your policies (or a permissions boundary) blocks ecs:ExecuteCommand "
          "on " +
              p.resource,
          "Remove or narrow that Deny statement; ecsh enable never edits your own permissions.");
  } else {
    b.add(check_id::caller_execute_command, "you", Status::fail, title,
          "no policy of " + f.caller_arn + " allows ecs:ExecuteCommand on " + p.resource,
          "Ask an administrator to allow ecs:ExecuteCommand on " + p.resource + " for " +
              f.caller_policy_source + ".");
  }
  if (f.caller_generate_data_key) {
    const auto& k = *f.caller_generate_data_key;
    std::string t = "kms:GenerateDataKey allowed for you on the cluster's exec KMS key";
    if (k.decision.empty()) {
      b.add(check_id::caller_kms_generate_data_key, "you", Status::unknown, t,
            "cannot tell: " + k.unknown_reason, simulate_fix(f.caller_arn));
    } else if (k.allowed()) {
      b.add(check_id::caller_kms_generate_data_key, "you", Status::ok, t);
    } else {
      b.add(check_id::caller_kms_generate_data_key, "you", Status::fail, t,
            "sessions are encrypted with " + k.resource + " and you may not use it (" + k.decision +
                ")",
            "Allow kms:GenerateDataKey on " + k.resource + " for " + f.caller_policy_source +
                " (and in the key policy).");
    }
  }
}

void cluster_checks(const Facts& f, Builder& b) {
  if (!f.cluster_status) {
    b.add(check_id::cluster_exists, "cluster", Status::unknown, "cluster " + f.cluster_name,
          f.cluster_unknown_reason, "Grant ecs:DescribeClusters.");
    return;
  }
  if (*f.cluster_status != ecs::ClusterStatus::active) {
    b.add(check_id::cluster_exists, "cluster", Status::fail,
          "cluster " + f.cluster_name + " is active",
          "status " + std::string(ecs::name(*f.cluster_status)), "Use an active cluster.");
    return;
  }
  b.add(check_id::cluster_exists, "cluster", Status::ok,
        "cluster " + f.cluster_name + " is active");
  if (!f.kms_key_id.empty()) {
    std::string t = "exec KMS key " + f.kms_key_id + " usable";
    if (!f.kms_key_usable) {
      b.add(check_id::cluster_kms_key, "cluster", Status::unknown, t, f.kms_unknown_reason,
            "Grant kms:DescribeKey so that doctor can check the key.");
    } else if (*f.kms_key_usable) {
      b.add(check_id::cluster_kms_key, "cluster", Status::ok, t, "sessions are encrypted with KMS");
    } else {
      b.add(check_id::cluster_kms_key, "cluster", Status::fail, t,
            "the key does not exist or is not enabled",
            "Point executeCommandConfiguration.kmsKeyId at an enabled key, or remove it.");
    }
  }
  if (f.logging.empty() || f.logging == "NONE") {
    b.add(check_id::cluster_logging, "cluster", Status::info, "session logging",
          f.logging.empty() ? "not configured (no audit trail of sessions)" : "disabled");
  } else {
    b.add(check_id::cluster_logging, "cluster", Status::info, "session logging " + f.logging,
          f.log_group.empty() ? std::string() : "CloudWatch log group " + f.log_group);
    if (!f.log_group.empty() && f.log_group_exists && !*f.log_group_exists) {
      b.add(check_id::cluster_log_group, "cluster", Status::fail,
            "log group " + f.log_group + " exists",
            "the agent cannot deliver session logs, so sessions fail",
            "Create it: aws logs create-log-group --log-group-name " + f.log_group);
    }
  }
}

void service_checks(const Facts& f, Builder& b) {
  if (!f.service) return;
  const auto& s = *f.service;
  if (s.enable_execute_command) {
    b.add(check_id::service_exec_enabled, "service", Status::ok,
          "service " + s.name + " has enableExecuteCommand");
  } else {
    b.add(check_id::service_exec_enabled, "service", Status::fail,
          "service " + s.name + " has enableExecuteCommand",
          "exec is disabled on the service; new tasks start without it",
          "ecsh enable -c " + f.cluster_name + " -s " + s.name +
              "  (update-service --enable-execute-command --force-new-deployment)",
          true);
  }
  int stale = 0;
  for (const auto& t : f.service_tasks) {
    if (t.enable_execute_command != s.enable_execute_command) ++stale;
  }
  bool rolling = std::any_of(s.deployments.begin(), s.deployments.end(), [](const auto& d) {
    return d.rollout_state == ecs::RolloutState::in_progress;
  });
  if (s.enable_execute_command && stale > 0) {
    b.add(check_id::service_redeploy_needed, "service", Status::fail,
          "running tasks started with exec enabled",
          fmt::format("{} of {} running tasks started before exec was enabled (redeploy needed{})",
                      stale, f.service_tasks.size(), rolling ? "; a rollout is in progress" : ""),
          "ecsh enable -c " + f.cluster_name + " -s " + s.name +
              "  (forces a new deployment; running tasks never change their flag)",
          true);
  } else if (s.enable_execute_command && !f.service_tasks.empty()) {
    b.add(check_id::service_redeploy_needed, "service", Status::ok,
          "running tasks started with exec enabled",
          fmt::format("{} of {}", f.service_tasks.size(), f.service_tasks.size()));
  }
  if (f.service_tasks.empty()) {
    b.add(check_id::service_running_tasks, "service", Status::fail, "service has running tasks",
          fmt::format("desired {}, running {}", s.desired_count, s.running_count),
          "Scale the service up or look at its events: aws ecs describe-services");
  }
}

// AWS keys set in a container. The checker (check 11, amazon-ecs-exec-checker issue 49) still
// warns that the SSM agent uses them instead of the task role: it did in early 2022 (ssm-agent
// issue 435), until agent 3.1.1260.0 (commit 10881362, "Fix ECS Exec issue where agent was using
// environment variables for credentials"). In container mode the agent takes credentials from
// the container credentials endpoint only (the task role, else on EC2 the instance role); ecsh
// checked this against the real agent (sandbox/README.md, "The real SSM agent"). So they are
// named, never a failure.
void credential_env_check(const ContainerDefinitionFacts& d, const std::string& group, Builder& b) {
  std::vector<std::string> names = d.credential_env;
  for (const auto& n : d.credential_secrets) names.push_back(n + " (from secrets)");
  if (names.empty()) return;
  b.add(check_id::container_credential_env, group, Status::info, "AWS keys in the environment",
        fmt::format("{} set in container {}: the ECS Exec agent ignores them and uses the task "
                    "role (SSM agent 3.1.1260.0 and later); the application's own AWS calls use "
                    "them",
                    fmt::join(names, ", "), d.name));
}

void task_checks(const Facts& f, Builder& b) {
  if (!f.task) {
    if (!f.task_unknown_reason.empty()) {
      b.add(check_id::task_status, "task", Status::unknown, "the task", f.task_unknown_reason);
    }
    return;
  }
  const auto& t = *f.task;
  std::string group = "task";
  const std::string status(ecs::name(t.last_status));
  if (t.last_status == ecs::TaskStatus::running) {
    b.add(check_id::task_status, group, Status::ok, "task " + t.id + " is RUNNING");
  } else if (ecs::is_starting(t.last_status)) {
    b.add(check_id::task_status, group, Status::fail, "task " + t.id + " is RUNNING",
          "still " + status, "Wait for it to reach RUNNING.");
  } else {
    b.add(check_id::task_status, group, Status::fail, "task " + t.id + " is RUNNING",
          status + (t.stopped_reason.empty() ? "" : " (" + t.stopped_reason + ")"),
          "Pick a running task (ecsh ls tasks), or see why it stopped.");
  }
  if (t.enable_execute_command) {
    b.add(check_id::task_exec_enabled, group, Status::ok, "task was started with exec enabled");
  } else {
    bool service_task = !t.service_name().empty();
    b.add(check_id::task_exec_enabled, group, Status::fail, "task was started with exec enabled",
          "the flag is fixed at launch; this task can never be exec'd into",
          service_task ? "ecsh enable -c " + f.cluster_name + " -s " + t.service_name() +
                             "  (new tasks replace it)"
                       : "Run a new task with --enable-execute-command.",
          service_task);
  }
  if (t.launch_type == "FARGATE") {
    std::string pv = t.platform_version.empty() ? "LATEST" : t.platform_version;
    bool ok = pv == "LATEST" || compare_versions(pv, kMinPlatform) >= 0;
    b.add(
        check_id::task_platform_version, group, ok ? Status::ok : Status::fail,
        std::string("Fargate platform version >= ") + kMinPlatform, pv,
        ok ? ""
           : "Run on platform version 1.4.0 or LATEST (update-service --platform-version LATEST).");
  } else if (t.launch_type == "EC2" || t.launch_type == "EXTERNAL") {
    if (f.agent_version.empty()) {
      b.add(check_id::task_agent_version, group, Status::unknown,
            std::string("ECS agent version >= ") + kMinAgent,
            "cannot tell: " + f.task_unknown_reason, "Grant ecs:DescribeContainerInstances.");
    } else {
      bool ok = compare_versions(f.agent_version, kMinAgent) >= 0;
      b.add(
          check_id::task_agent_version, group, ok ? Status::ok : Status::fail,
          std::string("ECS agent version >= ") + kMinAgent,
          f.agent_version + (f.ec2_instance_id.empty() ? "" : " on " + f.ec2_instance_id),
          ok ? ""
             : "Update the ECS agent on " + f.ec2_instance_id + " (or use: ecsh exec --via ec2).");
      // A recent agent without the SSM agent's binaries (a custom AMI) registers no
      // ecs.capability.execute-command and starts no exec agent, silently.
      if (ok && f.instance_exec_capability) {
        const bool capable = *f.instance_exec_capability;
        b.add(check_id::task_instance_exec_capability, group, capable ? Status::ok : Status::fail,
              "container instance offers ECS Exec",
              capable ? ""
                      : f.ec2_instance_id +
                            " has no ecs.capability.execute-command attribute: its ECS "
                            "agent lacks the ECS Exec binaries "
                            "(/var/lib/ecs/deps/execute-command)",
              capable ? ""
                      : "Run the task on an ECS-optimized AMI (or install the ECS Exec "
                        "dependencies on the instance and restart the ECS agent), or use: ecsh "
                        "exec --via ec2.");
      }
    }
  }

  // The role the agent uses.
  if (f.role_arn.empty()) {
    if (!f.role_unknown_reason.empty()) {
      b.add(check_id::task_role, group, Status::unknown, "task role allows ssmmessages",
            f.role_unknown_reason);
    } else {
      b.add(check_id::task_role, group, Status::fail, "task role allows ssmmessages",
            "the task has no task role (and no EC2 instance role)",
            "Set taskRoleArn in the task definition to a role with the four ssmmessages actions.");
    }
  } else {
    std::vector<std::string> denied, unknown;
    for (const auto& p : f.role_permissions) {
      bool is_ssm = std::find(kExecChannelActions.begin(), kExecChannelActions.end(), p.action) !=
                    kExecChannelActions.end();
      if (!is_ssm) continue;
      if (p.decision.empty()) {
        unknown.push_back(p.action);
      } else if (!p.allowed()) {
        denied.push_back(p.action + (p.decision == "explicitDeny" ? " (explicit deny)" : ""));
      }
    }
    std::string title = f.role_source + " allows ssmmessages";
    if (!denied.empty()) {
      bool explicit_deny = std::any_of(denied.begin(), denied.end(), [](const std::string& d) {
        return d.find("explicit") != std::string::npos;
      });
      b.add(check_id::task_role_ssmmessages, group, Status::fail, title,
            f.role_arn + " may not: " + fmt::format("{}", fmt::join(denied, ", ")),
            explicit_deny ? "Remove the Deny on ssmmessages from " + f.role_arn + "."
                          : "ecsh enable  (puts an inline policy with the four ssmmessages actions "
                            "on " +
                                f.role_arn + ")",
            !explicit_deny);
    } else if (!unknown.empty()) {
      b.add(check_id::task_role_ssmmessages, group, Status::unknown, title,
            "cannot tell: " + f.role_unknown_reason, simulate_fix("you"));
    } else {
      b.add(check_id::task_role_ssmmessages, group, Status::ok, title, f.role_arn);
    }
    for (const auto& p : f.role_permissions) {
      if (p.action == "kms:Decrypt") {
        std::string t = f.role_source + " allows kms:Decrypt on the exec key";
        if (p.decision.empty()) {
          b.add(check_id::task_role_kms_decrypt, group, Status::unknown, t, p.unknown_reason);
        } else if (p.allowed()) {
          b.add(check_id::task_role_kms_decrypt, group, Status::ok, t);
        } else {
          b.add(check_id::task_role_kms_decrypt, group, Status::fail, t,
                f.role_arn + " may not decrypt with " + p.resource,
                "ecsh enable  (adds kms:Decrypt on the key to the exec policy)",
                p.decision != "explicitDeny");
        }
      }
      if (p.action.starts_with("logs:")) {
        if (p.decision.empty() || p.allowed()) continue;
        b.add(std::string(check_id::task_role_logs_prefix) + p.action.substr(5), group,
              Status::fail, f.role_source + " allows " + p.action,
              f.role_arn + " may not " + p.action,
              "ecsh enable  (adds the logging permissions to the exec policy)",
              p.decision != "explicitDeny");
      }
    }
  }

  // pidMode task: one PID namespace, and ECS Exec runs one agent per namespace, in a container
  // AWS does not name; every container still lists its agent RUNNING (containers-roadmap issue
  // 2268). No API tells which one answers, so with several it cannot be decided here.
  const auto agents = std::count_if(
      t.containers.begin(), t.containers.end(),
      [](const ecs::ContainerView& c) { return c.exec_agent_status == ecs::AgentStatus::running; });
  if (f.pid_mode == "task" && agents > 1) {
    b.add(check_id::task_pid_mode, group, Status::unknown, "exec reaches every container",
          "pidMode task: the containers share one PID namespace, and ECS Exec runs one agent "
          "per namespace, in one container AWS does not name; exec into the others fails with "
          "TargetNotConnectedException",
          "Try each container with -n NAME; to reach all of them, remove pidMode task from the "
          "task definition.");
  } else if (!f.pid_mode.empty()) {
    b.add(check_id::task_pid_mode, group, Status::info, "pidMode " + f.pid_mode,
          f.pid_mode == "task" ? "exec sessions see every container's processes" : "");
  }

  // Per container.
  const bool logging_on = !f.logging.empty() && f.logging != "NONE";
  for (const auto& c : t.containers) {
    std::string cg = "container:" + c.name;
    const auto readiness = ecs::exec_readiness(t, c);
    switch (readiness.blocker) {
      case ecs::ExecBlocker::none:
        b.add(check_id::container_exec_agent, cg, Status::ok, "exec agent RUNNING");
        break;
      case ecs::ExecBlocker::task_starting:
      case ecs::ExecBlocker::task_not_running:
        break;  // the task's status check says it
      case ecs::ExecBlocker::exec_not_enabled:
        if (!c.exec_agent_status) {
          b.add(check_id::container_exec_agent, cg, Status::info, "no exec agent",
                "the task was started without exec, so no agent runs in its containers");
        }
        break;
      case ecs::ExecBlocker::no_agent_in_task:
        b.add(check_id::container_exec_agent, cg, Status::fail, "exec agent RUNNING",
              "no container of the task has an ExecuteCommandAgent, although exec was enabled "
              "at launch (an ECS agent, AMI or platform version without ECS Exec starts none)",
              "Fix the version checks above, then start a new task.");
        break;
      case ecs::ExecBlocker::no_agent:
        b.add(check_id::container_exec_agent, cg, Status::info, "no exec agent",
              "this container has no ExecuteCommandAgent (a sidecar?); exec into another one");
        break;
      case ecs::ExecBlocker::agent_pending:
      case ecs::ExecBlocker::agent_stopped:
      case ecs::ExecBlocker::agent_status_unknown:
        b.add(check_id::container_exec_agent, cg, Status::fail, "exec agent RUNNING",
              std::string(ecs::name(readiness.agent_status)) +
                  (readiness.agent_reason.empty() ? "" : ": " + readiness.agent_reason),
              "Fix the checks above, then start a new task.");
        break;
    }
    for (const auto& d : f.container_definitions) {
      if (d.name != c.name) continue;
      if (d.read_only_root) {
        b.add(
            check_id::container_read_only_root, cg, logging_on ? Status::fail : Status::info,
            "root filesystem is read-only",
            logging_on ? "the exec agent cannot write its session logs"
                       : "fine without session logging",
            logging_on ? "Set readonlyRootFilesystem to false, or turn session logging off." : "");
      }
      if (!d.init_process_enabled) {
        b.add(check_id::container_init_process, cg, Status::info, "initProcessEnabled is off",
              "processes left by exec sessions are not reaped");
      }
      credential_env_check(d, cg, b);
    }
  }
}

void network_checks(const Facts& f, Builder& b) {
  if (!f.task) return;
  std::string title = "the task can reach ssmmessages." + f.region + ".amazonaws.com";
  if (f.ssmmessages_endpoint && *f.ssmmessages_endpoint) {
    b.add(check_id::network_ssmmessages, "network", Status::ok, title,
          "VPC endpoint with private DNS in " + f.vpc_id);
  } else if (f.route_out && *f.route_out) {
    b.add(check_id::network_ssmmessages, "network", Status::ok, title,
          "subnet " + f.subnet_id + " routes 0.0.0.0/0 to a gateway");
  } else if (!f.ssmmessages_endpoint || !f.route_out) {
    b.add(check_id::network_ssmmessages, "network", Status::unknown, title,
          "cannot tell: " + f.network_unknown_reason,
          "Grant ec2:DescribeSubnets, ec2:DescribeVpcEndpoints and ec2:DescribeRouteTables.");
  } else {
    b.add(check_id::network_ssmmessages, "network", Status::fail, title,
          "subnet " + f.subnet_id + " has no route out and VPC " + f.vpc_id +
              " has no ssmmessages endpoint with private DNS",
          "Create an interface VPC endpoint com.amazonaws." + f.region +
              ".ssmmessages (private DNS on) in " + f.vpc_id +
              ", or route the subnet through NAT.");
  }
}

}  // namespace

namespace {

// This machine's side of a session: the stream endpoint reachable through its proxy and CA
// bundle, its clock, and how long its credentials last (a dropped link can be resumed only
// while they do: ResumeSession is refused with expired ones).
void client_checks(const Facts& f, Builder& b) {
  if (!f.client_gathered) return;
  const std::string via = f.stream_via.empty() ? "" : " " + f.stream_via;
  if (f.stream_error.empty()) {
    b.add(check_id::client_stream_reachable, "client", Status::ok,
          "this machine reaches " + f.stream_host + via);
  } else {
    b.add(check_id::client_stream_reachable, "client", Status::fail,
          "this machine reaches " + f.stream_host + via, f.stream_error,
          "Sessions open wss://" + f.stream_host +
              ":443 from here: check HTTPS_PROXY / NO_PROXY, the firewall, and the CA bundle "
              "(AWS_CA_BUNDLE, --ca-bundle).");
  }
  if (f.clock_skew) {
    auto minutes =
        std::chrono::duration_cast<std::chrono::minutes>(std::chrono::abs(*f.clock_skew)).count();
    if (minutes < 1) {
      b.add(check_id::client_clock, "client", Status::ok, "this machine's clock agrees with AWS's");
    } else {
      b.add(check_id::client_clock, "client", Status::info,
            fmt::format("this machine's clock is {} min {} AWS's", minutes,
                        f.clock_skew->count() > 0 ? "behind" : "ahead of"),
            "ecsh corrects its own calls for it; the AWS CLI and SDKs fail beyond 15 min "
            "(SignatureDoesNotMatch, Signature expired)",
            "Sync the clock (timedatectl set-ntp true, or chrony).");
    }
  }
  if (!f.credentials_expire) {
    b.add(check_id::client_credentials_lifetime, "client", Status::ok,
          "credentials do not expire" +
              (f.credentials_source.empty() ? "" : " (" + f.credentials_source + ")"));
    return;
  }
  auto left = std::chrono::duration_cast<std::chrono::minutes>(f.credentials_left).count();
  std::string where = f.credentials_source.empty() ? "" : " (" + f.credentials_source + ")";
  if (f.credentials_left.count() <= 0) {
    b.add(check_id::client_credentials_lifetime, "client", Status::fail,
          "credentials are still valid" + where, "they have expired",
          "Renew them (aws sso login, or your profile's credential source).");
  } else if (left < 60) {
    b.add(check_id::client_credentials_lifetime, "client", Status::info,
          fmt::format("credentials last {} min more{}", left, where),
          "a session open longer cannot resume a dropped link after that (ResumeSession is "
          "refused); it keeps running until the link drops",
          "Renew them before a long session (aws sso login, or a longer DurationSeconds).");
  } else {
    b.add(check_id::client_credentials_lifetime, "client", Status::ok,
          fmt::format("credentials last {} h {:02} min more{}", left / 60, left % 60, where));
  }
}

}  // namespace

std::vector<Check> evaluate(const Facts& facts) {
  Builder b;
  caller_checks(facts, b);
  client_checks(facts, b);
  cluster_checks(facts, b);
  service_checks(facts, b);
  task_checks(facts, b);
  network_checks(facts, b);
  return std::move(b.out);
}

}  // namespace ecsh::doctor
