#include "cli/aws_context.hpp"
#include "cli/command.hpp"
#include "cli/doctor_run.hpp"
#include "cli/target_options.hpp"
#include "ecsh/enable/apply.hpp"
#include "ecsh/enable/plan.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <unistd.h>
#include <cstdio>

namespace ecsh::cli {
namespace {

struct EnableOptions {
  ecs::TargetSpec target;
  bool dry_run = false;
  int timeout_seconds = 900;
};

}  // namespace

void print_plan(const enable::EnablePlan& plan, const doctor::Facts& f) {
  int step = 0;
  if (!plan.role_name.empty()) {
    fmt::print("{}. iam put-role-policy --role-name {} --policy-name {}\n{}\n", ++step,
               plan.role_name, enable::kExecPolicyName, boost::json::serialize(plan.policy));
  }
  if (plan.enable_on_service || plan.redeploy) {
    fmt::print("{}. ecs update-service --cluster {} --service {}{}{}\n", ++step, f.cluster_name,
               plan.service, plan.enable_on_service ? " --enable-execute-command" : "",
               plan.redeploy ? " --force-new-deployment" : "");
  }
  if (plan.redeploy) {
    fmt::print("{}. wait for the new tasks and check that their exec agent is RUNNING\n", ++step);
  }
  for (const auto& c : plan.cannot_fix) {
    fmt::print("! not fixable by ecsh enable: {}{}\n    {}\n", c.title,
               c.detail.empty() ? "" : " (" + c.detail + ")", c.fix);
  }
}

enable::Progress stdout_progress() {
  const bool tty = ::isatty(STDOUT_FILENO);
  enable::Progress progress;
  progress.done = [](const std::string& line) { fmt::print("{}\n", line); };
  progress.rollout = [tty](const std::string& line) {
    if (tty) {
      fmt::print("\r{}\x1b[K", line);
    } else {
      fmt::print("{}\n", line);
    }
    std::fflush(stdout);
  };
  // The line rewritten in place ends when the rollout does.
  if (tty) progress.rollout_end = [] { fmt::print("\n"); };
  return progress;
}

void add_enable_command(CLI::App& app, const GlobalOptions& global, CommandBody& run) {
  static EnableOptions options;
  auto* cmd = app.add_subcommand(
      "enable", "Fix what blocks ECS Exec: task role policy, service flag, redeploy; then verify");
  add_target_options(*cmd, options.target);
  cmd->add_flag("--dry-run", options.dry_run, "Show the plan and stop");
  cmd->add_option("--timeout", options.timeout_seconds, "Seconds to wait for the rollout")
      ->capture_default_str();
  cmd->callback([&run, &global] {
    run = [&global]() -> Awaitable<Result<int>> {
      auto executor = co_await asio::this_coro::executor;
      ECSH_CO_TRY(auto ctx, make_aws_context(executor, global));
      ECSH_CO_TRY(auto doctor_run, co_await run_doctor(*ctx->client, options.target));
      auto plan =
          enable::plan_enable(doctor_run.scope.service, doctor_run.facts, doctor_run.checks);
      if (plan.empty()) {
        if (plan.cannot_fix.empty()) {
          fmt::print("Nothing to do: ECS Exec is already enabled and working for this target.\n");
          co_return 0;
        }
        print_plan(plan, doctor_run.facts);
        co_return 1;
      }
      fmt::print("Plan:\n");
      print_plan(plan, doctor_run.facts);
      if (options.dry_run) co_return 0;
      if (!global.yes && !confirm("Apply?")) {
        Error e = Error::usage("nothing applied",
                               ::isatty(STDIN_FILENO) ? "" : "Not a terminal: add --yes to apply.");
        co_return e;
      }
      const auto progress = stdout_progress();
      const std::chrono::seconds timeout(options.timeout_seconds);
      ECSH_CO_TRY(
          co_await enable::apply_enable(*ctx->client, doctor_run.facts, plan, timeout, progress));
      // 1: something enable cannot fix still blocks exec (listed in the plan).
      co_return plan.cannot_fix.empty() ? 0 : 1;
    };
  });
}

}  // namespace ecsh::cli
