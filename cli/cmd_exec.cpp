#include "cli/aws_context.hpp"
#include "cli/command.hpp"
#include "cli/doctor_run.hpp"
#include "cli/target_options.hpp"
#include "ecsh/connect/exec_session.hpp"
#include "ecsh/connect/instance_exec.hpp"
#include "ecsh/connect/via.hpp"
#include "ecsh/exec/remote_command.hpp"
#include "ecsh/term/tty.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <unistd.h>
#include <optional>

namespace ecsh::cli {
namespace {

struct ExecOptions {
  ecs::TargetSpec target;
  std::vector<std::string> command;
  std::string via = "auto";
  bool no_escapes = false;
  connect::InstanceAccess instance;
  bool ssh = false;
  std::string user;
};

}  // namespace

void add_exec_command(CLI::App& app, const GlobalOptions& global, CommandBody& run) {
  static ExecOptions options;
  auto* cmd = app.add_subcommand(
      "exec", "Open a shell in a container, or run a command there and exit with its status");
  add_target_options(*cmd, options.target);
  cmd->add_option("--via", options.via,
                  "How to get in: auto (ECS Exec; offers the instance when that is impossible on "
                  "EC2), ecs, ec2 (the container instance and docker exec)")
      ->check(CLI::IsMember({"auto", "ecs", "ec2"}));
  cmd->add_flag("--ssh", options.ssh,
                "Method 2: reach the instance with the system ssh client, not SSM");
  cmd->add_option("--ssh-user", options.instance.ssh_user, "Method 2: ssh login name")
      ->capture_default_str();
  cmd->add_option("-i,--identity", options.instance.identity, "Method 2: ssh identity file");
  cmd->add_option("--ssh-option", options.instance.ssh_options,
                  "Method 2: an ssh -o option, e.g. ProxyJump=bastion (repeatable)");
  cmd->add_option("--address", options.instance.address,
                  "Method 2 over ssh: the instance's private or public address")
      ->check(CLI::IsMember({"auto", "private", "public"}))
      ->capture_default_str();
  cmd->add_option("--container-id", options.instance.container_id,
                  "Method 2: the Docker container ID (or prefix) on the instance, when the ECS "
                  "labels are missing and several containers share the image");
  cmd->add_option("-u,--user", options.user,
                  "Run the command or shell as this user (name or UID) in the container, not "
                  "root");
  cmd->add_flag("--no-escapes", options.no_escapes, "Do not treat ~. and ~? as escapes");
  cmd->add_option("command", options.command, "The command and its arguments, after --");
  cmd->positionals_at_end();
  cmd->callback([&run, &global] {
    run = [&global]() -> Awaitable<Result<int>> {
      auto executor = co_await asio::this_coro::executor;
      if (!options.user.empty()) {
        ECSH_CO_TRY(exec::check_user(options.user));
      }
      ECSH_CO_TRY(auto ctx, make_aws_context(executor, global));
      auto picker = terminal_picker();
      ECSH_CO_TRY(auto target, co_await ecs::resolve_target(*ctx->client, options.target, picker));
      auto settings = exec_settings(*ctx, !options.no_escapes);
      settings.user = options.user;
      options.instance.force_ssh = options.ssh;
      const bool forward_stdin = term::stdin_is_redirected();
      auto via_instance = [&]() {
        return connect::run_via_instance(*ctx->client, target, options.instance, options.command,
                                         forward_stdin, settings, picker);
      };
      const auto via = connect::parse_via(options.via).value_or(connect::Via::automatic);
      if (via == connect::Via::ec2) co_return co_await via_instance();

      // Awaited into named locals, never inside a condition (docs/CODING.md: g++ 12).
      std::optional<Result<int>> result;
      if (options.command.empty()) {
        auto interactive = co_await connect::run_interactive(*ctx->client, target, settings);
        result.emplace(std::move(interactive));
      } else {
        auto one_shot = co_await connect::run_one_shot(*ctx->client, target, options.command,
                                                       forward_stdin, settings);
        result.emplace(std::move(one_shot));
      }
      Result<int>& r = *result;
      if (r) co_return r;
      // --via auto: when ECS Exec is impossible and the task runs on EC2, the instance is
      // another way in; ask first.
      auto why = connect::instance_fallback(via, target, r.error());
      if (!why) co_return co_await explain_session_error(*ctx->client, global, target, r.error());
      fmt::print(stderr, "ecsh: ECS Exec is impossible: {}.\n", *why);
      fmt::print(stderr,
                 "ecsh: task {} runs on EC2, so its container instance can be entered with docker "
                 "exec (Method 2).\n",
                 target.task.id);
      if (global.yes) {
        fmt::print(stderr, "ecsh: going through the instance (--yes).\n");
      } else if (!confirm("Get in through the instance?")) {
        // Declined (or no terminal to ask on): 252, as every prompt (docs/CODING.md); AWS's
        // answer stays the message.
        Error e = r.error();
        e.kind = ErrorKind::usage;
        e.hint = ::isatty(STDIN_FILENO)
                     ? "Nothing done. `ecsh enable` makes ECS Exec work for new tasks."
                     : "Not a terminal: add --yes (or --via ec2) to go through the instance.";
        co_return e;
      }
      co_return co_await via_instance();
    };
  });
}

}  // namespace ecsh::cli
