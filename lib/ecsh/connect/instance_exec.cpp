#include "ecsh/connect/instance_exec.hpp"

#include "ecsh/common/crypto.hpp"

#include "ecsh/aws/query_replies.hpp"
#include "ecsh/common/json_fields.hpp"
#include "ecsh/common/log.hpp"
#include "ecsh/common/subprocess.hpp"
#include "ecsh/ecs/ecs_view.hpp"
#include "ecsh/exec/instance_command.hpp"
#include "ecsh/exec/remote_command.hpp"
#include "ecsh/term/tty.hpp"

#include <boost/json.hpp>

#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ecsh::connect {
namespace json = boost::json;

namespace {

// The environment for ssh: ecsh's own, without AWS credentials (ssh and a ProxyCommand keep
// AWS_PROFILE and friends, never the keys themselves). The access key ID goes too: alone, it
// makes an `aws ssm start-session` ProxyCommand fail with partial credentials instead of
// falling back to the profile.
std::vector<std::string> child_environment() {
  return subprocess::environment_without([](std::string_view name) {
    return name == "AWS_ACCESS_KEY_ID" || name == "AWS_SECRET_ACCESS_KEY" ||
           name == "AWS_SESSION_TOKEN" || name == "AWS_SECURITY_TOKEN" ||
           name == "AWS_CONTAINER_AUTHORIZATION_TOKEN";
  });
}

struct ProcessResult {
  int exit_code = 255;
  std::string out;  // when captured
};

// Runs argv with ecsh's terminal (stdin/stdout/stderr inherited), or with stdout captured.
// While it runs, ecsh ignores SIGINT and SIGQUIT, as system() does: the child decides.
Result<ProcessResult> run_process(const std::vector<std::string>& argv, bool capture_stdout,
                                  bool null_stdin) {
  subprocess::Spec spec;
  spec.argv = argv;
  spec.env = child_environment();
  spec.in = null_stdin ? subprocess::Stream::null : subprocess::Stream::inherit;
  spec.out = capture_stdout ? subprocess::Stream::capture : subprocess::Stream::inherit;
  spec.ignore_interrupts = true;
  auto done = subprocess::run(spec);
  if (done.error != 0) {
    return Error::config(
        "cannot run " + argv[0] + ": " + std::strerror(done.error),
        "Install the OpenSSH client, or reach the instance by SSM (without --ssh).");
  }
  ProcessResult result;
  result.exit_code = done.exit_code;
  result.out = std::move(done.out);
  return result;
}

std::vector<std::string> ssh_argv(const InstanceAccess& access, const std::string& host, bool tty,
                                  bool null_stdin, const std::string& remote) {
  std::vector<std::string> argv{access.ssh_program, "-l", access.ssh_user};
  if (!access.identity.empty()) argv.insert(argv.end(), {"-i", access.identity});
  for (const auto& o : access.ssh_options) argv.insert(argv.end(), {"-o", o});
  // ssh's default is the kernel's TCP timeout (minutes); the user's own -o comes first and wins.
  argv.insert(argv.end(), {"-o", "ConnectTimeout=20"});
  argv.push_back(tty ? "-tt" : "-T");
  if (null_stdin) argv.push_back("-n");
  argv.push_back(host);
  argv.push_back(remote);
  return argv;
}

std::string choose_address(const InstanceInfo& i, const std::string& which) {
  if (which == "public") return i.public_ip;
  if (which == "private") return i.private_ip;
  return i.private_ip.empty() ? i.public_ip : i.private_ip;
}

struct Capture {
  std::string out;        // everything the script printed
  std::string why_ended;  // the agent's closing message, when it gave one
};

// Runs `script` on the instance over SSM and returns what it printed.
Awaitable<Result<Capture>> ssm_capture(aws::AwsClient& client, const InstanceInfo& instance,
                                       const std::string& script, const ExecSettings& settings) {
  auto executor = co_await asio::this_coro::executor;
  ECSH_CO_TRY(auto session, co_await start_instance_session(client, instance.instance_id, script));
  auto options = transport_options(client, session, instance.instance_id, settings);
  ECSH_CO_TRY(auto transport,
              co_await SessionTransport::open(executor, session, std::move(options)));
  Capture capture;
  transport->on_output([&capture](std::string_view bytes) { capture.out.append(bytes); });
  auto end = co_await transport->run();
  co_await terminate_session(client, session.session_id);
  if (!end) co_return end.error();
  capture.why_ended = end.value().output;
  co_return capture;
}

}  // namespace

std::optional<std::string> method2_unavailable(const ecs::ResolvedTarget& target) {
  if (target.task.launch_type != "EC2" || target.task.container_instance_arn.empty()) {
    std::string type = target.task.launch_type.empty() ? "not EC2" : target.task.launch_type;
    return "task " + target.task.id + " runs on " + type +
           ": there is no container instance to reach (Method 2 needs the EC2 launch type)";
  }
  return std::nullopt;
}

Result<std::optional<std::string>> ssm_ping_status(const json::object& response,
                                                   const std::string& instance_id) {
  JsonFields r(response, "the DescribeInstanceInformation response");
  ECSH_TRY(auto list, r.objects("InstanceInformationList"));
  std::optional<std::string> status;
  for (const auto& i : list) {
    ECSH_TRY(auto id, i.string("InstanceId"));
    if (id != instance_id) continue;
    ECSH_TRY(status, i.string_or("PingStatus"));
  }
  return status;
}

Awaitable<Result<InstanceInfo>> find_instance(aws::AwsClient& client,
                                              const ecs::ResolvedTarget& target,
                                              bool need_ssm_status) {
  InstanceInfo info;
  ECSH_CO_TRY(auto instance, co_await ecs::describe_container_instance(
                                 client, target.cluster_arn, target.task.container_instance_arn));
  if (instance) info.instance_id = instance->ec2_instance_id;
  if (info.instance_id.empty()) {
    Error e =
        Error::usage("the container instance of task " + target.task.id + " has no EC2 instance ID",
                     "It may have been deregistered; check: ecsh ls");
    co_return e;
  }
  aws::QueryParams p;
  std::vector<std::string> ids{info.instance_id};
  aws::add_query_list(p, "InstanceId", ids, aws::Protocol::ec2);
  auto xml = co_await client.query_call(aws::services::ec2(), "DescribeInstances", p);
  if (!xml) {
    info.addresses_error = xml.error();
  } else if (auto instances = aws::parse_describe_instances(xml.value()); !instances) {
    info.addresses_error = instances.error();
  } else {
    for (const auto& i : instances.value()) {
      if (i.id != info.instance_id) continue;
      info.private_ip = i.private_ip;
      info.public_ip = i.public_ip;
    }
  }
  if (need_ssm_status) {
    json::object req{{"Filters", json::array{json::object{
                                     {"Key", "InstanceIds"},
                                     {"Values", json::array{json::value(info.instance_id)}}}}}};
    auto managed =
        co_await client.json_call(aws::services::ssm(), "DescribeInstanceInformation", req);
    if (managed) {
      ECSH_CO_TRY(auto status, ssm_ping_status(managed.value(), info.instance_id));
      info.ssm_ping_status = status.value_or("");
      info.ssm_managed = info.ssm_ping_status == "Online";
    } else {
      // Without it ecsh cannot tell SSM from ssh; guessing ssh would send the user to a private
      // address that a laptop rarely reaches.
      Error e = managed.error();
      e.hint =
          "ecsh needs ssm:DescribeInstanceInformation to reach the instance by SSM; or use "
          "--ssh to go by ssh.";
      co_return e;
    }
  }
  co_return info;
}

Awaitable<Result<int>> run_via_instance(aws::AwsClient& client, const ecs::ResolvedTarget& target,
                                        const InstanceAccess& access,
                                        const std::vector<std::string>& words, bool forward_stdin,
                                        const ExecSettings& settings, const ecs::Picker& picker) {
  if (auto why = method2_unavailable(target)) {
    Error e = Error::usage(*why, "Use ECS Exec (--via ecs); `ecsh doctor` says what it needs.");
    co_return e;
  }
  ECSH_CO_TRY(auto instance, co_await find_instance(client, target, !access.force_ssh));
  const bool use_ssh = access.force_ssh || !instance.ssm_managed;
  std::string host;
  if (use_ssh) {
    host = choose_address(instance, access.address);
    if (host.empty() && instance.addresses_error) co_return *instance.addresses_error;
    if (host.empty()) {
      Error e = Error::usage(
          "instance " + instance.instance_id + " has no " +
              (access.address == "auto" ? std::string("IP") : access.address) + " address",
          "Give another with --address private|public, or reach it by SSM (without --ssh).");
      co_return e;
    }
    if (!access.force_ssh) {
      std::string why = instance.ssm_ping_status.empty()
                            ? " is not an SSM managed instance"
                            : " is offline for SSM (PingStatus " + instance.ssm_ping_status + ")";
      term::write_all(settings.stderr_fd, "ecsh: " + instance.instance_id + why +
                                              "; using ssh to " + access.ssh_user + "@" + host +
                                              "\n");
    }
  }
  std::string where = use_ssh ? access.ssh_user + "@" + host : instance.instance_id + " (SSM)";
  log::debug("Method 2 through {}", where);

  // 1. Which container, and which docker.
  exec::InstanceContainerQuery query{target.task.arn, target.container.name,
                                     target.container.image};
  std::string lookup_out, why_ended;
  // Named: class-type arguments of a co_awaited call stay out of temporaries (docs/CODING.md).
  const std::string lookup = exec::lookup_script(query);
  if (use_ssh) {
    ECSH_CO_TRY(auto r, run_process(ssh_argv(access, host, false, true, lookup), true, true));
    if (r.exit_code == 255) {
      Error e = Error::connection("ssh to " + where + " failed (ssh said why above)",
                                  "Check --ssh-user, -i/--identity and your ~/.ssh/config.", false);
      co_return e;
    }
    lookup_out = r.out;
  } else {
    ECSH_CO_TRY(auto captured, co_await ssm_capture(client, instance, lookup, settings));
    lookup_out = std::move(captured.out);
    why_ended = std::move(captured.why_ended);
  }
  auto found = exec::parse_lookup(lookup_out);
  if (!found.complete && !why_ended.empty()) {
    Error e =
        Error::connection("the container lookup on " + where + " failed: " + why_ended, "", false);
    co_return e;
  }
  if (!found.complete) {
    Error e =
        Error::protocol("the container lookup on " + where +
                        " did not finish (run with --debug to see what the instance printed)");
    log::debug("lookup output: {}", lookup_out);
    co_return e;
  }
  if (!found.docker_usable) {
    Error e = Error::connection(
        "docker cannot be used on " + where +
            (found.docker_problem.empty() ? std::string() : ": " + found.docker_problem),
        "The user needs the docker group or passwordless sudo (ECS-optimized AMIs have both).",
        false);
    co_return e;
  }
  if (found.candidates.empty()) {
    Error e = Error::usage("no running container of task " + target.task.id + " (container " +
                               target.container.name + ") on " + instance.instance_id,
                           "The task may have stopped or moved; check it with: ecsh ls");
    co_return e;
  }
  std::size_t chosen = 0;
  if (!access.container_id.empty()) {
    auto it = std::find_if(
        found.candidates.begin(), found.candidates.end(),
        [&](const exec::InstanceCandidate& c) { return c.id.starts_with(access.container_id); });
    if (it == found.candidates.end()) {
      Error e =
          Error::usage("--container-id " + access.container_id + " is not a container of task " +
                       target.task.id + " on " + instance.instance_id);
      co_return e;
    }
    chosen = static_cast<std::size_t>(it - found.candidates.begin());
  } else if (found.candidates.size() > 1) {
    if (!found.by_image) {
      log::debug("several containers carry the task's labels; using the first");
    } else {
      std::vector<ecs::Candidate> list;
      for (const auto& c : found.candidates) {
        list.push_back(
            {c.id.substr(0, 12), "", c.id.substr(0, 12) + "  " + c.name + "  " + c.status});
      }
      ecs::SelectRequest req{"container", "--container-id", "",
                             "from image " + target.container.image + " on " +
                                 instance.instance_id + " (no ECS labels to tell them apart)"};
      ECSH_CO_TRY(chosen, ecs::select_one(req, list, picker));
    }
  } else if (found.by_image) {
    term::write_all(settings.stderr_fd, "ecsh: no container carries the task's ECS labels; using " +
                                            found.candidates.front().name + ", the only one from " +
                                            target.container.image + "\n");
  }
  const auto& container = found.candidates[chosen];

  // 2. docker exec.
  exec::InstanceExec ex;
  ex.container_id = container.id;
  ex.sudo = found.needs_sudo;
  if (use_ssh) {
    // --user: docker exec's own (the container's /etc/passwd; its errors are docker's).
    ex.user = settings.user;
    if (words.empty()) {
      ex.mode = exec::InstanceExecMode::interactive;
      ECSH_CO_TRY(auto r, run_process(ssh_argv(access, host, true, false, exec::exec_script(ex)),
                                      false, false));
      co_return r.exit_code;
    }
    ex.mode = exec::InstanceExecMode::plain_command;
    ex.words = words;
    ex.forward_stdin = forward_stdin;
    ECSH_CO_TRY(auto r,
                run_process(ssh_argv(access, host, false, !forward_stdin, exec::exec_script(ex)),
                            false, !forward_stdin));
    co_return r.exit_code;
  }
  if (words.empty()) {
    ex.mode = exec::InstanceExecMode::interactive;
    RunAsMarkers markers;
    markers.where = container_description(target);
    if (!settings.user.empty()) {
      markers.nonce = crypto::hex(crypto::random_bytes(16));
      ex.inner = exec::interactive_shell_command(settings.user, markers.nonce);
    }
    const std::string script = exec::exec_script(ex);
    ECSH_CO_TRY(auto session,
                co_await start_instance_session(client, instance.instance_id, script));
    const RunAsMarkers* run_as = settings.user.empty() ? nullptr : &markers;
    co_return co_await run_terminal_session(client, session, instance.instance_id, settings,
                                            run_as);
  }
  OneShotStarter starter;
  starter.ssm_target = instance.instance_id;
  starter.where = container_description(target);
  starter.ended_hint = "The container may have stopped; check it with: ecsh ls containers";
  starter.start = [&client, &instance,
                   ex](std::string wrapped) -> Awaitable<Result<SessionTarget>> {
    exec::InstanceExec e = ex;
    e.mode = exec::InstanceExecMode::pty_command;
    e.inner = std::move(wrapped);
    e.raw_outer_tty = true;
    const std::string script = exec::exec_script(e);
    co_return co_await start_instance_session(client, instance.instance_id, script);
  };
  co_return co_await run_one_shot_with(client, starter, words, forward_stdin, settings);
}

}  // namespace ecsh::connect
