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

// `--output json`: one document, when enable ends without an error (the plan, what was changed,
// what it cannot fix); the rollout's progress goes to stderr meanwhile.
boost::json::object plan_json(const enable::EnablePlan& plan, const doctor::Facts& f) {
  boost::json::array steps;
  if (!plan.role_name.empty()) {
    steps.push_back(boost::json::object{{"step", "put_role_policy"},
                                        {"role_name", plan.role_name},
                                        {"policy_name", enable::kExecPolicyName},
                                        {"policy", plan.policy}});
  }
  if (plan.enable_on_service || plan.redeploy) {
    steps.push_back(boost::json::object{{"step", "update_service"},
                                        {"cluster", f.cluster_name},
                                        {"service", plan.service},
                                        {"enable_execute_command", plan.enable_on_service},
                                        {"force_new_deployment", plan.redeploy}});
  }
  if (plan.redeploy) steps.push_back(boost::json::object{{"step", "wait_for_exec_agent"}});
  boost::json::array cannot_fix;
  for (const auto& c : plan.cannot_fix) {
    cannot_fix.push_back(boost::json::object{
        {"id", c.id}, {"title", c.title}, {"detail", c.detail}, {"fix", c.fix}});
  }
  return {{"schema", "ecsh.enable/1"},
          {"cluster", f.cluster_name},
          {"service", plan.service},
          {"plan", std::move(steps)},
          {"cannot_fix", std::move(cannot_fix)},
          {"applied", false},
          {"changes", boost::json::array{}}};
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

// With --output json: the changes made are collected for the document, the rollout goes to
// stderr.
enable::Progress json_progress(boost::json::array& changes) {
  enable::Progress progress;
  progress.done = [&changes](const std::string& line) { changes.emplace_back(line); };
  progress.rollout = [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
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
      const bool as_json = global.output == "json";
      auto doc = plan_json(plan, doctor_run.facts);
      const auto print_doc = [&doc] { fmt::print("{}\n", boost::json::serialize(doc)); };
      // 1: something enable cannot fix still blocks exec (listed in the plan).
      const int verdict = plan.cannot_fix.empty() ? 0 : 1;
      if (plan.empty()) {
        if (as_json) {
          print_doc();
        } else if (plan.cannot_fix.empty()) {
          fmt::print("Nothing to do: ECS Exec is already enabled and working for this target.\n");
        } else {
          print_plan(plan, doctor_run.facts);
        }
        co_return verdict;
      }
      if (!as_json) {
        fmt::print("Plan:\n");
        print_plan(plan, doctor_run.facts);
      }
      if (options.dry_run) {
        if (as_json) print_doc();
        co_return 0;
      }
      if (!global.yes && !confirm("Apply?")) {
        Error e = Error::usage("nothing applied",
                               ::isatty(STDIN_FILENO) ? "" : "Not a terminal: add --yes to apply.");
        co_return e;
      }
      auto& changes = doc["changes"].as_array();
      const auto progress = as_json ? json_progress(changes) : stdout_progress();
      const std::chrono::seconds timeout(options.timeout_seconds);
      ECSH_CO_TRY(
          co_await enable::apply_enable(*ctx->client, doctor_run.facts, plan, timeout, progress));
      if (as_json) {
        doc["applied"] = true;
        print_doc();
      }
      co_return verdict;
    };
  });
}

}  // namespace ecsh::cli
