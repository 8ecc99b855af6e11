#include "cli/aws_context.hpp"
#include "cli/command.hpp"
#include "cli/doctor_run.hpp"
#include "cli/target_options.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <iostream>

namespace ecsh::cli {
namespace {

namespace json = boost::json;

struct EnableOptions {
  ecs::TargetSpec target;
  bool dry_run = false;
  int timeout_seconds = 900;
};

bool failing(const std::vector<doctor::Check>& checks, std::string_view id) {
  return std::any_of(checks.begin(), checks.end(), [&](const doctor::Check& c) {
    return c.id == id && c.status == doctor::Status::fail && c.fixable_by_enable;
  });
}

std::string role_name_of(const std::string& role_arn) {
  auto slash = role_arn.rfind('/');
  return slash == std::string::npos ? role_arn : role_arn.substr(slash + 1);
}

}  // namespace

json::object exec_policy_document(const doctor::Facts& f) {
  json::array statements;
  json::array channel_actions;
  for (const char* a : doctor::kExecChannelActions) channel_actions.emplace_back(a);
  statements.push_back(json::object{{"Sid", "EcsExecSsmMessages"},
                                    {"Effect", "Allow"},
                                    {"Action", channel_actions},
                                    {"Resource", "*"}});
  if (!f.kms_key_id.empty()) {
    statements.push_back(json::object{{"Sid", "EcsExecKmsDecrypt"},
                                      {"Effect", "Allow"},
                                      {"Action", "kms:Decrypt"},
                                      {"Resource", f.kms_key_id}});
  }
  if (!f.log_group.empty() && f.logging != "NONE") {
    statements.push_back(
        json::object{{"Sid", "EcsExecLogs"},
                     {"Effect", "Allow"},
                     {"Action", json::array{"logs:DescribeLogGroups", "logs:CreateLogStream",
                                            "logs:DescribeLogStreams", "logs:PutLogEvents"}},
                     {"Resource", "*"}});
  }
  return json::object{{"Version", "2012-10-17"}, {"Statement", std::move(statements)}};
}

EnablePlan plan_enable(const DoctorRun& run) {
  EnablePlan plan;
  const auto& f = run.facts;
  const auto& checks = run.checks;
  if ((failing(checks, "task.role_ssmmessages") || failing(checks, "task.role_kms_decrypt") ||
       std::any_of(checks.begin(), checks.end(),
                   [](const doctor::Check& c) {
                     return c.id.starts_with("task.role_logs_") &&
                            c.status == doctor::Status::fail && c.fixable_by_enable;
                   })) &&
      !f.role_arn.empty()) {
    plan.role_name = role_name_of(f.role_arn);
    plan.policy = exec_policy_document(f);
  }
  plan.service = run.scope.service;
  if (!plan.service.empty()) {
    plan.enable_on_service = failing(checks, "service.exec_enabled");
    plan.redeploy = plan.enable_on_service || failing(checks, "service.redeploy_needed") ||
                    failing(checks, "task.exec_enabled") || !plan.role_name.empty() ||
                    std::any_of(checks.begin(), checks.end(), [](const doctor::Check& c) {
                      return c.id == "container.exec_agent" && c.status == doctor::Status::fail;
                    });
  }
  for (const auto& c : checks) {
    // A stopped exec agent is a symptom: the new tasks of a redeploy get a fresh one, and its
    // cause (if enable cannot fix it) is listed on its own.
    if (c.id == "container.exec_agent" && plan.redeploy) continue;
    if (c.status == doctor::Status::fail && !c.fixable_by_enable) plan.cannot_fix.push_back(c);
  }
  return plan;
}

void print_plan(const EnablePlan& plan, const doctor::Facts& f) {
  int step = 0;
  if (!plan.role_name.empty()) {
    fmt::print("{}. iam put-role-policy --role-name {} --policy-name {}\n{}\n", ++step,
               plan.role_name, kExecPolicyName, json::serialize(plan.policy));
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

// Follows the service's rollout until its primary deployment completes and a new task's exec
// agent is RUNNING; prints progress. Returns an error describing a failed rollout.
Task<Result<ecs::TaskView>> follow_rollout(aws::AwsClient& client, const doctor::Facts& f,
                                           const std::string& service, std::chrono::seconds timeout,
                                           bool quiet) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const bool tty = ::isatty(STDOUT_FILENO);
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    std::vector<std::string> names{service};
    ECSH_CO_TRY(auto services, co_await ecs::describe_services(client, f.cluster_arn, names));
    if (services.empty()) {
      Error e = Error::usage("service " + service + " disappeared during the rollout");
      co_return e;
    }
    const auto& s = services.front();
    const ecs::ServiceView::Deployment* primary = nullptr;
    int old_running = 0;
    for (const auto& d : s.deployments) {
      if (d.status == "PRIMARY") {
        primary = &d;
      } else {
        old_running += d.running;
      }
    }
    std::vector<ecs::TaskView> tasks;
    ECSH_CO_TRY(auto arns, co_await ecs::list_task_arns(client, f.cluster_arn, service, "RUNNING"));
    if (!arns.empty()) {
      ECSH_CO_TRY(tasks, co_await ecs::describe_tasks(client, f.cluster_arn, arns));
    }
    int ready = 0, fresh = 0;
    const ecs::TaskView* ready_task = nullptr;
    for (const auto& t : tasks) {
      if (!t.enable_execute_command) continue;
      ++fresh;
      bool agent_running = std::any_of(t.containers.begin(), t.containers.end(), [](const auto& c) {
        return c.exec_agent_status && *c.exec_agent_status == "RUNNING";
      });
      if (agent_running && t.last_status == "RUNNING") {
        ++ready;
        ready_task = &t;
      }
    }
    std::string rollout = primary ? primary->rollout_state : std::string("?");
    std::string line =
        fmt::format("   rollout {:<11} new tasks {}/{} (exec agent RUNNING: {})  old tasks {}",
                    rollout, primary ? primary->running : 0, s.desired_count, ready, old_running);
    if (!quiet && line != last) {
      if (tty) {
        fmt::print("\r{}\x1b[K", line);
      } else {
        fmt::print("{}\n", line);
      }
      std::fflush(stdout);
      last = line;
    }
    if (primary && primary->rollout_state == "FAILED") {
      if (tty && !quiet) fmt::print("\n");
      std::string reasons;
      auto stopped = co_await ecs::list_task_arns(client, f.cluster_arn, service, "STOPPED");
      if (stopped && !stopped.value().empty()) {
        auto views = co_await ecs::describe_tasks(client, f.cluster_arn, stopped.value());
        if (views) {
          for (const auto& t : views.value()) {
            if (!t.stopped_reason.empty() && reasons.find(t.stopped_reason) == std::string::npos) {
              reasons += "\n   " + t.id + ": " + t.stopped_reason;
            }
          }
        }
      }
      Error e = Error::usage("the new deployment of " + service +
                                 " failed: " + primary->rollout_state_reason + reasons,
                             "Fix the cause above, then run ecsh enable again.");
      e.kind = ErrorKind::service;
      co_return e;
    }
    if (primary && primary->rollout_state == "COMPLETED" && old_running == 0 &&
        fresh == static_cast<int>(tasks.size())) {
      if (ready_task) {
        if (tty && !quiet) fmt::print("\n");
        co_return *ready_task;
      }
      // Every new task runs, but its exec agent gave up: say why instead of waiting.
      for (const auto& t : tasks) {
        for (const auto& c : t.containers) {
          if (c.exec_agent_status && *c.exec_agent_status == "STOPPED") {
            if (tty && !quiet) fmt::print("\n");
            Error e =
                Error::usage("the new task " + t.id + " runs, but the exec agent of container " +
                                 c.name + " stopped: " + c.exec_agent_reason,
                             "Run ecsh doctor on the task for the fix.");
            e.kind = ErrorKind::service;
            co_return e;
          }
        }
      }
    }
    timer.expires_after(std::chrono::milliseconds(300));
    co_await timer.async_wait(use_awaitable_nothrow);
  }
  if (tty && !quiet) fmt::print("\n");
  Error e = Error::connection(
      "the rollout of " + service + " did not finish in " + std::to_string(timeout.count()) + " s",
      "Watch it with: aws ecs describe-services --cluster " + f.cluster_name + " --services " +
          service,
      false);
  co_return e;
}

Task<Result<int>> apply_enable(aws::AwsClient& client, const DoctorRun& run, const EnablePlan& plan,
                               std::chrono::seconds timeout, bool quiet) {
  const auto& f = run.facts;
  if (!plan.role_name.empty()) {
    aws::QueryParams p{{"RoleName", plan.role_name},
                       {"PolicyName", std::string(kExecPolicyName)},
                       {"PolicyDocument", json::serialize(plan.policy)}};
    ECSH_CO_TRY(co_await client.query_call(aws::services::iam(), "PutRolePolicy", p));
    if (!quiet) fmt::print("✓ put inline policy {} on role {}\n", kExecPolicyName, plan.role_name);
  }
  if (plan.enable_on_service || plan.redeploy) {
    json::object req{{"cluster", f.cluster_arn}, {"service", plan.service}};
    if (plan.enable_on_service) req["enableExecuteCommand"] = true;
    if (plan.redeploy) req["forceNewDeployment"] = true;
    ECSH_CO_TRY(co_await client.json_call(aws::services::ecs(), "UpdateService", req));
    if (!quiet) {
      fmt::print("✓ updated service {}{}{}\n", plan.service,
                 plan.enable_on_service ? ": enableExecuteCommand=true" : "",
                 plan.redeploy ? ", new deployment started" : "");
    }
  }
  if (plan.redeploy) {
    ECSH_CO_TRY(auto task, co_await follow_rollout(client, f, plan.service, timeout, quiet));
    if (!quiet) {
      fmt::print("✓ task {} runs with exec enabled and its exec agent is RUNNING\n", task.id);
    }
  }
  co_return plan.cannot_fix.empty() ? 0 : 1;
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
    run = [&global]() -> Task<Result<int>> {
      auto executor = co_await asio::this_coro::executor;
      ECSH_CO_TRY(auto ctx, make_aws_context(executor, global));
      ECSH_CO_TRY(auto doctor_run, co_await run_doctor(*ctx->client, options.target));
      auto plan = plan_enable(doctor_run);
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
      co_return co_await apply_enable(*ctx->client, doctor_run, plan,
                                      std::chrono::seconds(options.timeout_seconds), false);
    };
  });
}

}  // namespace ecsh::cli
