#include "cli/aws_context.hpp"
#include "cli/command.hpp"
#include "cli/target_options.hpp"
#include "ecsh/connect/exec_session.hpp"
#include "ecsh/term/tty.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

namespace ecsh::cli {
namespace {

struct ExecOptions {
  ecs::TargetSpec target;
  std::vector<std::string> command;
  std::string via = "auto";
  bool no_escapes = false;
};

}  // namespace

connect::ExecSettings exec_settings(const AwsContext& ctx, bool escapes) {
  connect::ExecSettings s;
  s.http = aws::HttpOptions::from_environment();
  s.http.verify_tls = ctx.settings.verify_tls;
  s.http.ca_bundle = ctx.settings.ca_bundle;
  s.escapes = escapes;
  return s;
}

void add_exec_command(CLI::App& app, const GlobalOptions& global, CommandBody& run) {
  static ExecOptions options;
  auto* cmd = app.add_subcommand(
      "exec", "Open a shell in a container, or run a command there and exit with its status");
  add_target_options(*cmd, options.target);
  cmd->add_option("--via", options.via, "How to get in: auto, ecs (ECS Exec), ec2 (the instance)")
      ->check(CLI::IsMember({"auto", "ecs", "ec2"}));
  cmd->add_flag("--no-escapes", options.no_escapes, "Do not treat ~. and ~? as escapes");
  cmd->add_option("command", options.command, "The command and its arguments, after --");
  cmd->positionals_at_end();
  cmd->callback([&run, &global] {
    run = [&global]() -> Task<Result<int>> {
      if (options.via == "ec2") {
        Error e = Error::usage("--via ec2 (Method 2: the instance and Docker) is not available yet",
                               "Use ECS Exec (the default).");
        co_return e;
      }
      auto executor = co_await asio::this_coro::executor;
      ECSH_CO_TRY(auto ctx, make_aws_context(executor, global));
      ECSH_CO_TRY(auto target,
                  co_await ecs::resolve_target(*ctx->client, options.target, terminal_picker()));
      auto settings = exec_settings(*ctx, !options.no_escapes);
      if (options.command.empty()) {
        co_return co_await connect::run_interactive(*ctx->client, target, settings);
      }
      co_return co_await connect::run_one_shot(*ctx->client, target, options.command,
                                               term::stdin_is_redirected(), settings);
    };
  });
}

}  // namespace ecsh::cli
