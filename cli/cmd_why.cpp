// ecsh why: why a task stopped (or is unhealthy), or why a service cannot keep its tasks.
#include "cli/aws_context.hpp"
#include "cli/command.hpp"
#include "cli/target_options.hpp"
#include "ecsh/common/clock.hpp"
#include "ecsh/common/json_fields.hpp"
#include "ecsh/logs/fetch.hpp"
#include "ecsh/logs/why.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>

namespace ecsh::cli {
namespace {

namespace json = boost::json;

struct WhyOptions {
  ecs::TargetSpec target;
  int lines = 20;
};

std::int64_t why_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct TaskReport {
  logs::TaskVerdict verdict;
  std::vector<logs::LogEvent> events;
  std::string log_note;  // why there are no lines
  std::string log_container;
};

// The verdict on a task and the last lines of the container that explains it (or -n's).
Awaitable<Result<TaskReport>> report_task(AwsContext& ctx, logs::TaskDefinitions& defs,
                                          const ecs::TaskView& task, const std::string& container,
                                          int lines) {
  auto& client = *ctx.client;
  TaskReport r;
  ECSH_CO_TRY(auto def, co_await defs.get(client, task.task_definition_arn));
  r.verdict = logs::judge_task(task, logs::essential_containers(def));
  r.log_container = r.verdict.culprit;
  if (!container.empty()) {
    for (const auto& c : task.containers) {
      if (c.name.starts_with(container)) {
        r.log_container = c.name;
        break;
      }
    }
    r.verdict.culprit = r.log_container;
  }
  if (r.log_container.empty()) co_return r;
  for (const auto& s : logs::sources_for_task(def, task, client.settings().region)) {
    if (s.container != r.log_container) continue;
    if (!s.unreadable.empty()) {
      r.log_note = s.unreadable;
      break;
    }
    std::unique_ptr<aws::AwsClient> regional;
    aws::AwsClient* logs_client = &client;
    if (s.region != ctx.settings.region) {
      aws::AwsSettings settings = ctx.settings;
      settings.region = s.region;
      regional = std::make_unique<aws::AwsClient>(settings, ctx.credentials, *ctx.http,
                                                  SystemClock::instance());
      logs_client = regional.get();
    }
    auto got = co_await logs::last_events(*logs_client, s.group, s.stream, lines);
    if (got) {
      r.events = std::move(got.value());
    } else {
      r.log_note = fmt::format("{} {}: {}", s.group, s.stream, got.error().message);
    }
    break;
  }
  co_return r;
}

std::vector<std::string> log_lines(const TaskReport& r) {
  std::vector<std::string> out;
  for (const auto& e : r.events) {
    std::string_view m = e.message;
    while (!m.empty() && (m.back() == '\n' || m.back() == '\r')) m.remove_suffix(1);
    out.push_back(fmt::format("{} {}", logs::clock_time(e.timestamp), m));
  }
  return out;
}

json::object report_json(const TaskReport& r) {
  json::object o = logs::task_verdict_json(r.verdict);
  json::array lines;
  for (const auto& e : r.events) {
    std::string_view m = e.message;
    while (!m.empty() && (m.back() == '\n' || m.back() == '\r')) m.remove_suffix(1);
    lines.push_back(json::object{{"time", logs::iso_time(e.timestamp)}, {"message", m}});
  }
  o["log_container"] = r.log_container;
  o["log_lines"] = std::move(lines);
  o["log_note"] = r.log_note;
  return o;
}

void print_lines(const std::vector<std::string>& lines) {
  for (const auto& l : lines) fmt::print("{}\n", l);
}

// The stopped task that tells most about a service's trouble: the newest that failed on its
// own (not scaled in, replaced or stopped by hand), else the newest stopped.
const ecs::TaskView* telling_task(const std::vector<ecs::TaskView>& tasks) {
  const ecs::TaskView* best = nullptr;
  const ecs::TaskView* newest = nullptr;
  for (const auto& t : tasks) {
    if (t.last_status == ecs::TaskStatus::running &&
        t.health_status == ecs::HealthStatus::unhealthy && !best) {
      best = &t;
    }
    if (t.last_status != ecs::TaskStatus::stopped) continue;
    auto later = [](const ecs::TaskView* a, const ecs::TaskView& b) {
      return !a || b.stopped_at.value_or(0) > a->stopped_at.value_or(0);
    };
    if (later(newest, t)) newest = &t;
    bool failed = t.stop_code != "UserInitiated" &&
                  (t.stop_code != "ServiceSchedulerInitiated" ||
                   t.stopped_reason.find("health checks") != std::string::npos);
    if (failed && (later(best, t) || (best && best->last_status != ecs::TaskStatus::stopped)))
      best = &t;
  }
  return best ? best : newest;
}

Awaitable<Result<int>> run_why(const GlobalOptions& global, const WhyOptions& o) {
  auto executor = co_await asio::this_coro::executor;
  ECSH_CO_TRY(auto ctx, make_aws_context(executor, global));
  auto& client = *ctx->client;
  const bool as_json = global.output == "json";
  const std::int64_t now = why_now_ms();
  const ecs::Picker picker = terminal_picker();
  logs::TaskDefinitions defs;
  ecs::TargetSpec spec = o.target;
  spec.container.clear();

  if (!spec.task.empty()) {
    ECSH_CO_TRY(auto scope, co_await logs::resolve_tasks(client, spec, true, picker));
    ECSH_CO_TRY(auto report,
                co_await report_task(*ctx, defs, scope.tasks.front(), o.target.container, o.lines));
    if (as_json) {
      fmt::print("{}\n", json::serialize(with_schema("ecsh.why.task/1", report_json(report))));
    } else {
      print_lines(logs::render_task(report.verdict, log_lines(report), report.log_note, now));
    }
    co_return 0;
  }

  ECSH_CO_TRY(auto cluster, co_await ecs::resolve_cluster(client, spec.cluster, picker));
  std::vector<std::string> names;
  ECSH_CO_TRY(auto service, co_await logs::resolve_service(client, cluster, spec.service, &names));
  if (service.empty()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    Error e = names.empty()
                  ? Error::usage("cluster " + ecs::arn_name(cluster) + " has no service",
                                 "Name a task with -t (ecsh ls tasks --stopped lists them).")
                  : Error::usage(
                        "name a service (-s) or a task (-t) of cluster " + ecs::arn_name(cluster),
                        "Its services: " + list + ".");
    co_return e;
  }
  std::vector<std::string> wanted{service};
  ECSH_CO_TRY(auto services, co_await ecs::describe_services(client, cluster, wanted));
  if (services.empty()) {
    Error e = Error::usage("service " + service + " not found", "List them: ecsh ls services");
    co_return e;
  }
  auto verdict = logs::judge_service(services.front());
  ECSH_CO_TRY(auto running,
              co_await ecs::list_task_arns(client, cluster, service, ecs::TaskStatus::running));
  ECSH_CO_TRY(auto stopped,
              co_await ecs::list_task_arns(client, cluster, service, ecs::TaskStatus::stopped));
  running.insert(running.end(), stopped.begin(), stopped.end());
  std::vector<ecs::TaskView> tasks;
  if (!running.empty()) {
    ECSH_CO_TRY(tasks, co_await ecs::describe_tasks(client, cluster, running));
  }
  std::optional<TaskReport> report;
  if (const auto* t = telling_task(tasks)) {
    ECSH_CO_TRY(auto r, co_await report_task(*ctx, defs, *t, o.target.container, o.lines));
    report = std::move(r);
  }
  if (as_json) {
    json::object out = with_schema("ecsh.why.service/1", logs::service_verdict_json(verdict));
    out["cluster"] = ecs::arn_name(cluster);
    if (report) {
      out["task"] = report_json(*report);
    } else {
      out["task"] = nullptr;
    }
    fmt::print("{}\n", json::serialize(out));
    co_return 0;
  }
  print_lines(logs::render_service(verdict, now));
  if (report) {
    fmt::print("\n");
    print_lines(logs::render_task(report->verdict, log_lines(*report), report->log_note, now));
  }
  co_return 0;
}

}  // namespace

void add_why_command(CLI::App& app, const GlobalOptions& global, CommandBody& run) {
  static WhyOptions options;
  auto* cmd = app.add_subcommand(
      "why", "Why a task stopped or a service cannot keep its tasks, with the last log lines");
  add_target_options(*cmd, options.target);
  cmd->add_option("--lines", options.lines, "How many of the last log lines to show (default 20)")
      ->check(CLI::Range(1, 10000));
  cmd->callback([&run, &global] { run = [&global]() { return run_why(global, options); }; });
}

}  // namespace ecsh::cli
