// `ecsh cp`: files and directories between this machine and a container (lib/ecsh/copy), over
// ECS Exec or, with --via ec2, through the container instance.

#include "cli/aws_context.hpp"
#include "cli/command.hpp"
#include "cli/doctor_run.hpp"
#include "cli/target_options.hpp"
#include "ecsh/connect/exec_session.hpp"
#include "ecsh/connect/instance_exec.hpp"
#include "ecsh/copy/copier.hpp"
#include "ecsh/exec/remote_command.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/asio/signal_set.hpp>

#include <unistd.h>
#include <csignal>
#include <cstdlib>

namespace ecsh::cli {

namespace {

struct CpOptions {
  ecs::TargetSpec target;
  std::vector<std::string> operands;
  bool recursive = false;
  bool no_clobber = false;
  bool quiet = false;
  std::string via = "ecs";
  connect::InstanceAccess instance;
  std::string user;
};

}  // namespace

void add_cp_command(CLI::App& app, const GlobalOptions& global, CommandBody& run) {
  static CpOptions options;
  auto* cmd = app.add_subcommand(
      "cp", "Copy files and directories between this machine and a container, verified");
  add_target_options(*cmd, options.target);
  cmd->add_flag("-r,--recursive", options.recursive, "Copy directories (needs tar in the image)");
  cmd->add_flag("--no-clobber", options.no_clobber, "Never replace an existing destination");
  cmd->add_flag("-q,--quiet", options.quiet, "No progress line and no summary");
  cmd->add_option("-u,--user", options.user,
                  "Read and write in the container as this user (name or UID), not root: files "
                  "copied in belong to it");
  cmd->add_option("--via", options.via,
                  "ecs (ECS Exec), or ec2 (through the container instance and docker exec)")
      ->check(CLI::IsMember({"ecs", "ec2"}))
      ->capture_default_str();
  cmd->add_option("paths", options.operands,
                  "SRC... DST; the container's side is :PATH or TASK[/CONTAINER]:PATH, - is "
                  "stdin or stdout")
      ->required();
  cmd->footer(
      "Each file's checksum (BLAKE2b with b2sum there, else SHA-256) is checked end to end; the "
      "destination appears only when complete "
      "and verified. Modes and mtimes are kept.");
  cmd->callback([&run, &global] {
    run = [&global]() -> Awaitable<Result<int>> {
      auto executor = co_await asio::this_coro::executor;
      if (!options.user.empty()) {
        ECSH_CO_TRY(exec::check_user(options.user));
      }
      ECSH_CO_TRY(auto plan, copy::plan_copy(options.operands));
      ecs::TargetSpec spec = options.target;
      if (!plan.task.empty()) {
        if (!spec.task.empty() && spec.task != plan.task) {
          Error e = Error::usage("-t " + spec.task + " and " + plan.task + ": name the task once");
          co_return e;
        }
        spec.task = plan.task;
      }
      if (!plan.container.empty()) spec.container = plan.container;
      ECSH_CO_TRY(auto ctx, make_aws_context(executor, global));
      auto picker = terminal_picker();
      ECSH_CO_TRY(auto target, co_await ecs::resolve_target(*ctx->client, spec, picker));
      copy::RemoteRunner runner = [&](std::vector<std::string> words, int in, int out,
                                      int err) -> Awaitable<Result<int>> {
        auto settings = exec_settings(*ctx, false);
        settings.stdin_fd = in >= 0 ? in : STDIN_FILENO;
        settings.stdout_fd = out;
        settings.stderr_fd = err;
        settings.user = options.user;
        if (options.via == "ec2") {
          co_return co_await connect::run_via_instance(*ctx->client, target, options.instance,
                                                       words, in >= 0, settings, picker);
        }
        co_return co_await connect::run_one_shot(*ctx->client, target, words, in >= 0, settings);
      };
      copy::CopyOptions copy_options;
      copy_options.recursive = options.recursive;
      copy_options.no_clobber = options.no_clobber;
      copy_options.quiet = options.quiet;
      copy_options.progress = !options.quiet && ::isatty(STDERR_FILENO);
      // Ctrl-C: nothing half-written stays here (the container's temporary file goes with the
      // session's shell).
      asio::signal_set signals(executor, SIGINT, SIGTERM, SIGHUP);
      signals.async_wait([](boost::system::error_code ec, int signal) {
        if (ec) return;
        copy::remove_partial_copies();
        fmt::print(stderr, "\necsh: interrupted; nothing was kept.\n");
        std::_Exit(128 + signal);
      });
      auto copied = co_await copy::run_copy(plan, copy_options, runner);
      signals.cancel();
      if (!copied) {
        co_return co_await explain_session_error(*ctx->client, global, target, copied.error());
      }
      auto summary = std::move(copied).value();
      if (!options.quiet) {
        double rate =
            summary.seconds > 0 ? static_cast<double>(summary.bytes) / summary.seconds : 0;
        fmt::print(stderr, "ecsh: copied {} file{}, {} in {:.1f} s ({}/s; {})\n", summary.files,
                   summary.files == 1 ? "" : "s", copy::human_bytes(summary.bytes), summary.seconds,
                   copy::human_bytes(static_cast<std::uint64_t>(rate)), summary.method);
      }
      co_return 0;
    };
  });
}

}  // namespace ecsh::cli
