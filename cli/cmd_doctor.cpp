#include "cli/aws_context.hpp"
#include "cli/command.hpp"
#include "cli/doctor_run.hpp"
#include "cli/target_options.hpp"
#include "ecsh/connect/probe.hpp"
#include "ecsh/doctor/checks.hpp"
#include "ecsh/doctor/diagnose.hpp"
#include "ecsh/doctor/gather.hpp"
#include "ecsh/exec/remote_command.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>

namespace ecsh::cli {
namespace {

struct DoctorOptions {
  ecs::TargetSpec target;
  bool probe = false;
  std::string user;
  bool all = false;
};

// The container the probe tries: the one doctor judged, or -n's, by exec's own rules.
Awaitable<Result<ecs::ResolvedTarget>> probe_target(aws::AwsClient& client, const DoctorRun& run,
                                                    const ecs::TargetSpec& spec) {
  if (!run.scope.task) {
    Error e = Error::usage("no running task to probe in " +
                               (run.scope.service.empty() ? "cluster " + run.scope.cluster_name
                                                          : "service " + run.scope.service),
                           "Start one, or name a task with -t.");
    co_return e;
  }
  ecs::TargetSpec one;
  one.cluster = run.scope.cluster_arn;
  one.task = run.scope.task->arn;
  one.container = spec.container;
  co_return co_await ecs::resolve_target(client, one, nullptr);
}

connect::ProbeReport probe_not_run(Error why) {
  connect::ProbeReport r;
  r.failed_phase = connect::probe_phase_names().front();
  r.error = std::move(why);
  return r;
}

void print_probe_text(const connect::ProbeReport& p, const std::string& where, bool checks_ok) {
  fmt::print("\nProbe: a real session running `true` in {}\n", where);
  for (const auto& phase : p.phases) {
    fmt::print("  ✓ {} ({:.0f} ms)\n", phase.name, phase.ms);
  }
  if (p.ok) {
    fmt::print("Probe: ECS Exec works.\n");
    return;
  }
  std::string why = p.error ? p.error->message : std::string("no answer");
  fmt::print("  ✗ {}: {}\n", p.failed_phase, why);
  if (p.error && !p.error->hint.empty()) fmt::print("      {}\n", p.error->hint);
  if (checks_ok) {
    fmt::print(
        "Probe: every check is green, yet the session failed at {}: a cause no API shows (the "
        "agent's own network or logs; `ecsh why` and the container's logs may say more).\n",
        p.failed_phase);
  } else {
    fmt::print("Probe: failed at {}, as the checks above predict.\n", p.failed_phase);
  }
}

boost::json::object probe_json(const connect::ProbeReport& p) {
  boost::json::array phases;
  for (const auto& phase : p.phases) {
    phases.push_back(boost::json::object{{"name", phase.name}, {"ms", phase.ms}});
  }
  boost::json::object o{{"ok", p.ok}, {"phases", std::move(phases)}};
  o["failed_phase"] =
      p.failed_phase.empty() ? boost::json::value(nullptr) : boost::json::value(p.failed_phase);
  if (p.error) {
    o["error"] = boost::json::object{
        {"message", p.error->message}, {"code", p.error->code}, {"hint", p.error->hint}};
  } else {
    o["error"] = nullptr;
  }
  return o;
}

const char* symbol(doctor::Status s) {
  switch (s) {
    case doctor::Status::ok:
      return "✓";
    case doctor::Status::fail:
      return "✗";
    case doctor::Status::unknown:
      return "!";
    case doctor::Status::info:
      return "·";
  }
  return " ";
}

std::string group_title(const std::string& group, const doctor::Facts& f) {
  if (group == "you") return "You";
  if (group == "client") return "This machine";
  if (group == "cluster") return "Cluster " + f.cluster_name;
  if (group == "service") return "Service " + (f.service ? f.service->name : std::string());
  if (group == "task") return "Task " + (f.task ? f.task->id : std::string());
  if (group.starts_with("container:")) return "Container " + group.substr(10);
  if (group == "network") return "Network";
  return group;
}

}  // namespace

Awaitable<Result<doctor::Scope>> resolve_doctor_scope(aws::AwsClient& client,
                                                      const ecs::TargetSpec& spec) {
  doctor::Scope scope;
  auto picker = terminal_picker();
  if (!spec.task.empty()) {
    ECSH_CO_TRY(auto target, co_await ecs::resolve_target(client, spec, picker));
    scope.cluster_arn = target.cluster_arn;
    scope.cluster_name = target.cluster_name;
    scope.service = target.task.service_name();
    scope.task = target.task;
    co_return scope;
  }
  ECSH_CO_TRY(scope.cluster_arn, co_await ecs::resolve_cluster(client, spec.cluster, picker));
  scope.cluster_name = ecs::arn_name(scope.cluster_arn);
  ECSH_CO_TRY(auto services, co_await ecs::list_service_arns(client, scope.cluster_arn));
  if (!services.empty() || !spec.service.empty()) {
    ecs::SelectRequest req;
    req.kind = "service";
    req.flag = "-s/--service";
    req.given = spec.service;
    req.scope = "in cluster " + scope.cluster_name;
    ECSH_CO_TRY(auto arn, ecs::select_arn(req, services, picker));
    scope.service = ecs::arn_name(arn);
    // Task-level checks run on the service's newest running task.
    ECSH_CO_TRY(auto arns, co_await ecs::list_task_arns(client, scope.cluster_arn, scope.service,
                                                        ecs::TaskStatus::running));
    if (!arns.empty()) {
      ECSH_CO_TRY(auto tasks, co_await ecs::describe_tasks(client, scope.cluster_arn, arns));
      std::sort(tasks.begin(), tasks.end(), [](const auto& a, const auto& b) {
        return a.started_at.value_or(0) > b.started_at.value_or(0);
      });
      if (!tasks.empty()) scope.task = tasks.front();
    }
    co_return scope;
  }
  ECSH_CO_TRY(auto target, co_await ecs::resolve_target(client, spec, picker));
  scope.task = target.task;
  co_return scope;
}

Awaitable<Error> explain_session_error(aws::AwsClient& client, const GlobalOptions& global,
                                       const ecs::ResolvedTarget& target, Error error) {
  // A session that ended early: the task as it is now says why (one DescribeTasks).
  if (error.ending == SessionEnding::unexplained) {
    co_return co_await doctor::explain_ending(client, target, std::move(error));
  }
  if (global.no_diagnose || !doctor::refused_by_ecs_exec(error)) co_return error;
  co_return co_await doctor::explain_refusal(client, target, std::move(error));
}

Awaitable<Result<DoctorRun>> run_doctor(aws::AwsClient& client, const ecs::TargetSpec& spec) {
  DoctorRun run;
  ECSH_CO_TRY(run.scope, co_await resolve_doctor_scope(client, spec));
  ECSH_CO_TRY(run.facts, co_await doctor::gather(client, run.scope));
  run.checks = doctor::evaluate(run.facts);
  co_return run;
}

void print_doctor_text(const DoctorRun& run) {
  const auto& f = run.facts;
  std::string head = "cluster " + f.cluster_name;
  if (!run.scope.service.empty()) head += " · service " + run.scope.service;
  if (f.task) head += " · task " + f.task->id;
  fmt::print("ecsh doctor: {}\n", head);
  std::string group;
  for (const auto& c : run.checks) {
    if (c.group != group) {
      group = c.group;
      fmt::print("\n{}\n", group_title(group, f));
    }
    fmt::print("  {} {}{}\n", symbol(c.status), c.title, c.detail.empty() ? "" : ": " + c.detail);
    if (!c.fix.empty() &&
        (c.status == doctor::Status::fail || c.status == doctor::Status::unknown)) {
      fmt::print("      fix: {}{}\n", c.fix,
                 c.fixable_by_enable ? "   [ecsh enable can apply this]" : "");
    }
  }
  int fails = 0, fixable = 0, unknown = 0;
  for (const auto& c : run.checks) {
    if (c.status == doctor::Status::fail) {
      ++fails;
      if (c.fixable_by_enable) ++fixable;
    }
    if (c.status == doctor::Status::unknown) ++unknown;
  }
  fmt::print("\n");
  if (fails == 0) {
    fmt::print("Verdict: ECS Exec should work{}.\n",
               unknown ? fmt::format(" ({} check(s) could not be decided: see !)", unknown) : "");
  } else {
    std::string enable = "ecsh enable -c " + f.cluster_name +
                         (run.scope.service.empty() ? "" : " -s " + run.scope.service);
    fmt::print("Verdict: ECS Exec is blocked by {} problem{}", fails, fails == 1 ? "" : "s");
    if (fixable) fmt::print("; `{}` can fix {} of them", enable, fixable);
    fmt::print(".\n");
  }
}

boost::json::object doctor_json(const DoctorRun& run) {
  boost::json::object o;
  o["schema"] = "ecsh.doctor/1";
  boost::json::object target;
  target["cluster"] = run.facts.cluster_arn;
  target["service"] = run.scope.service;
  target["task"] = run.facts.task ? run.facts.task->arn : "";
  o["target"] = std::move(target);
  o["exec_ready"] = doctor::exec_ready(run.checks);
  boost::json::array checks;
  for (const auto& c : run.checks) {
    checks.push_back(boost::json::object{{"id", c.id},
                                         {"group", c.group},
                                         {"status", doctor::status_name(c.status)},
                                         {"title", c.title},
                                         {"detail", c.detail},
                                         {"fix", c.fix},
                                         {"fixable_by_enable", c.fixable_by_enable}});
  }
  o["checks"] = std::move(checks);
  return o;
}

void add_doctor_command(CLI::App& app, const GlobalOptions& global, CommandBody& run) {
  static DoctorOptions options;
  auto* cmd = app.add_subcommand(
      "doctor",
      "Check every prerequisite of ECS Exec for a service or task, and say how to fix it");
  add_target_options(*cmd, options.target);
  cmd->add_flag("--probe", options.probe,
                "After the checks, open a real session and run `true` in the container, timing "
                "each phase (finds what no API shows)");
  cmd->add_option("-u,--user", options.user, "With --probe: run `true` as this user");
  cmd->add_flag("--all", options.all,
                "Every service and standalone task of the cluster (-c), or of every cluster, one "
                "row each, blocked first; exit 1 when one is blocked");
  cmd->callback([&run, &global] {
    run = [&global]() -> Awaitable<Result<int>> {
      auto executor = co_await asio::this_coro::executor;
      if (!options.user.empty()) {
        if (!options.probe) co_return Error::usage("--user goes with --probe");
        ECSH_CO_TRY(exec::check_user(options.user));
      }
      if (options.all && (!options.target.service.empty() || !options.target.task.empty() ||
                          !options.target.container.empty() || options.probe)) {
        co_return Error::usage("--all judges every service and task: it takes only -c CLUSTER",
                               "Drop -s/-t/-n/--probe, or drop --all.");
      }
      ECSH_CO_TRY(auto ctx, make_aws_context(executor, global));
      if (options.all) co_return co_await run_doctor_all(*ctx, global, options.target);
      ECSH_CO_TRY(auto result, co_await run_doctor(*ctx->client, options.target));
      const bool checks_ok = doctor::exec_ready(result.checks);
      std::optional<connect::ProbeReport> probe;
      std::string where;
      if (options.probe) {
        auto target = co_await probe_target(*ctx->client, result, options.target);
        if (target) {
          where = connect::container_description(target.value());
          auto settings = exec_settings(*ctx, false);
          settings.user = options.user;
          probe = co_await connect::probe_exec(*ctx->client, target.value(), settings);
        } else {
          probe = probe_not_run(target.error());
        }
      }
      if (global.output == "json") {
        auto o = doctor_json(result);
        if (probe) o["probe"] = probe_json(*probe);
        fmt::print("{}\n", boost::json::serialize(o));
      } else {
        print_doctor_text(result);
        if (probe) print_probe_text(*probe, where, checks_ok);
      }
      co_return checks_ok && (!probe || probe->ok) ? 0 : 1;
    };
  });
}

}  // namespace ecsh::cli
