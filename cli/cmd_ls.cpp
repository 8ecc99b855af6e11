#include "cli/aws_context.hpp"
#include "cli/command.hpp"
#include "cli/table.hpp"
#include "cli/target_options.hpp"
#include "ecsh/aws/query_replies.hpp"
#include "ecsh/common/at_most.hpp"
#include "ecsh/common/log.hpp"
#include "ecsh/ecs/exec_readiness.hpp"
#include "ecsh/logs/why.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <optional>

namespace ecsh::cli {
namespace {

namespace json = boost::json;

struct LsOptions {
  std::string what = "tasks";
  ecs::TargetSpec target;
  bool stopped = false;
};

// The EXEC column: "ready", or "no: " and what blocks it (ecs/exec_readiness.hpp decides).
std::string exec_cell(const ecs::ExecReadiness& r) {
  return r.ready() ? "ready" : "no: " + r.summary();
}

Awaitable<Result<std::vector<std::string>>> clusters_in_scope(aws::AwsClient& client,
                                                              const ecs::TargetSpec& spec) {
  if (!spec.cluster.empty()) {
    ECSH_CO_TRY(auto arn, co_await ecs::resolve_cluster(client, spec.cluster, nullptr));
    co_return std::vector<std::string>{arn};
  }
  co_return co_await ecs::list_cluster_arns(client);
}

// What one region lists: the table (head and rows) and the same as JSON objects.
struct Listing {
  std::vector<std::string> head;
  std::vector<std::vector<std::string>> rows;
  json::array out;
  std::size_t fit_width = 0;  // the last column is cut to fit this many columns (0: never)
};

void print_listing(Listing l, bool as_json) {
  if (as_json) {
    fmt::print("{}\n", json::serialize(l.out));
    return;
  }
  if (l.fit_width > 0) logs::fit_last_column(l.head, l.rows, l.fit_width);
  print_table(l.head, l.rows);
}

Awaitable<Result<Listing>> list(aws::AwsClient& client, const LsOptions& o) {
  Listing l;
  ECSH_CO_TRY(auto clusters, co_await clusters_in_scope(client, o.target));

  auto& out = l.out;
  auto& rows = l.rows;
  if (o.what == "clusters") {
    for (const auto& arn : clusters) {
      ECSH_CO_TRY(auto cluster, co_await ecs::describe_cluster(client, arn));
      if (!cluster) continue;
      const auto& c = *cluster;
      std::string kms = c.exec_kms_key_id.empty() ? "-" : ecs::arn_name(c.exec_kms_key_id);
      std::string logging = c.exec_logging.empty() ? "-" : c.exec_logging;
      std::string name = ecs::arn_name(arn);
      rows.push_back({name, std::to_string(c.active_services), std::to_string(c.running_tasks),
                      std::to_string(c.pending_tasks), kms, logging});
      out.push_back(json::object{{"cluster", name},
                                 {"arn", arn},
                                 {"services", c.active_services},
                                 {"running", c.running_tasks},
                                 {"pending", c.pending_tasks},
                                 {"exec_kms_key", kms == "-" ? "" : kms},
                                 {"exec_logging", logging == "-" ? "" : logging}});
    }
    l.head = {"CLUSTER", "SERVICES", "RUNNING", "PENDING", "EXEC KMS KEY", "EXEC LOGGING"};
    co_return l;
  }

  if (o.what == "services") {
    for (const auto& cluster : clusters) {
      ECSH_CO_TRY(auto arns, co_await ecs::list_service_arns(client, cluster));
      std::vector<std::string> names;
      for (const auto& a : arns) names.push_back(ecs::arn_name(a));
      if (!o.target.service.empty()) {
        std::erase_if(names,
                      [&](const std::string& n) { return !n.starts_with(o.target.service); });
      }
      if (names.empty()) continue;
      ECSH_CO_TRY(auto services, co_await ecs::describe_services(client, cluster, names));
      for (const auto& s : services) {
        ECSH_CO_TRY(auto task_arns, co_await ecs::list_task_arns(client, cluster, s.name,
                                                                 ecs::TaskStatus::running));
        std::vector<ecs::TaskView> tasks;
        if (!task_arns.empty()) {
          ECSH_CO_TRY(tasks, co_await ecs::describe_tasks(client, cluster, task_arns));
        }
        int ready = static_cast<int>(std::count_if(tasks.begin(), tasks.end(), [](const auto& t) {
          return ecs::exec_readiness(t).ready();
        }));
        int stale = static_cast<int>(std::count_if(tasks.begin(), tasks.end(), [&](const auto& t) {
          return t.enable_execute_command != s.enable_execute_command;
        }));
        std::string exec = !s.enable_execute_command ? "no: disabled on the service"
                           : stale > 0 ? fmt::format("no: redeploy needed ({} old tasks)", stale)
                           : ready > 0 ? fmt::format("ready ({}/{} tasks)", ready, tasks.size())
                           : tasks.empty() ? "no: no running task"
                                           : exec_cell(ecs::exec_readiness(tasks.front()));
        std::string rollout = s.deployments.empty() || s.deployments.front().rollout_state ==
                                                           ecs::RolloutState::unknown
                                  ? ""
                                  : std::string(ecs::name(s.deployments.front().rollout_state));
        rows.push_back({ecs::arn_name(cluster), s.name, std::to_string(s.desired_count),
                        std::to_string(s.running_count), rollout, exec});
        out.push_back(json::object{{"cluster", ecs::arn_name(cluster)},
                                   {"service", s.name},
                                   {"desired", s.desired_count},
                                   {"running", s.running_count},
                                   {"rollout", rollout},
                                   {"exec_enabled", s.enable_execute_command},
                                   {"exec", exec}});
      }
    }
    l.head = {"CLUSTER", "SERVICE", "DESIRED", "RUNNING", "ROLLOUT", "EXEC"};
    co_return l;
  }

  // tasks and containers
  for (const auto& cluster : clusters) {
    std::vector<std::string> arns;
    if (!o.target.task.empty() &&
        (o.target.task.starts_with("arn:") || o.target.task.size() == 32)) {
      arns.push_back(o.target.task);
    } else {
      if (o.stopped) {
        ECSH_CO_TRY(arns, co_await ecs::list_task_arns(client, cluster, o.target.service,
                                                       ecs::TaskStatus::stopped));
      } else {
        ECSH_CO_TRY(arns, co_await ecs::list_task_arns(client, cluster, o.target.service,
                                                       ecs::TaskStatus::running));
      }
    }
    if (arns.empty()) continue;
    ECSH_CO_TRY(auto tasks, co_await ecs::describe_tasks(client, cluster, arns));
    for (const auto& t : tasks) {
      if (!o.target.task.empty() && !t.id.starts_with(ecs::arn_name(o.target.task))) continue;
      std::string svc = t.service_name();
      if (o.what == "tasks" && o.stopped) {
        if (t.last_status != ecs::TaskStatus::stopped &&
            t.desired_status != ecs::TaskStatus::stopped) {
          continue;
        }
        const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        rows.push_back(
            {t.id.substr(0, 8), svc.empty() ? "-" : svc,
             t.stopped_at ? logs::ago(*t.stopped_at, now) : std::string(ecs::name(t.last_status)),
             t.stop_code.empty() ? "-" : t.stop_code, logs::exit_codes(t),
             t.stopped_reason.empty() ? "-" : t.stopped_reason});
        json::array exits;
        for (const auto& c : t.containers) {
          json::object co{{"container", c.name}, {"reason", c.reason}};
          if (c.exit_code) {
            co["exit_code"] = *c.exit_code;
          } else {
            co["exit_code"] = nullptr;
          }
          exits.push_back(std::move(co));
        }
        json::object row{{"cluster", ecs::arn_name(cluster)},
                         {"task", t.id},
                         {"arn", t.arn},
                         {"service", svc},
                         {"status", ecs::name(t.last_status)},
                         {"stop_code", t.stop_code},
                         {"stopped_reason", t.stopped_reason},
                         {"containers", std::move(exits)}};
        if (t.stopped_at) row["stopped_at"] = *t.stopped_at;
        out.push_back(std::move(row));
      } else if (o.what == "tasks") {
        const auto readiness = ecs::exec_readiness(t);
        std::string exec = exec_cell(readiness);
        rows.push_back({ecs::arn_name(cluster), t.id, svc.empty() ? "-" : svc,
                        std::string(ecs::name(t.last_status)), t.launch_type, exec});
        out.push_back(json::object{{"cluster", ecs::arn_name(cluster)},
                                   {"task", t.id},
                                   {"arn", t.arn},
                                   {"service", svc},
                                   {"status", ecs::name(t.last_status)},
                                   {"launch_type", t.launch_type},
                                   {"exec_enabled", t.enable_execute_command},
                                   {"exec", exec},
                                   {"exec_verdict", ecs::verdict_name(readiness.verdict())}});
      } else {
        for (const auto& c : t.containers) {
          if (!o.target.container.empty() && !c.name.starts_with(o.target.container)) continue;
          const auto readiness = ecs::exec_readiness(t, c);
          std::string exec = exec_cell(readiness);
          rows.push_back(
              {ecs::arn_name(cluster), t.id, c.name, std::string(ecs::name(c.last_status)), exec});
          out.push_back(json::object{{"cluster", ecs::arn_name(cluster)},
                                     {"task", t.id},
                                     {"container", c.name},
                                     {"status", ecs::name(c.last_status)},
                                     {"runtime_id", c.runtime_id},
                                     {"exec", exec},
                                     {"exec_verdict", ecs::verdict_name(readiness.verdict())}});
        }
      }
    }
  }
  if (o.what == "tasks" && o.stopped) {
    // The reason is cut to fit 80 columns (JSON has it whole).
    l.head = {"TASK", "SERVICE", "STOPPED", "CODE", "EXITS", "REASON"};
    l.fit_width = 80;
  } else if (o.what == "tasks") {
    l.head = {"CLUSTER", "TASK", "SERVICE", "STATUS", "LAUNCH", "EXEC"};
  } else {
    l.head = {"CLUSTER", "TASK", "CONTAINER", "STATUS", "EXEC"};
  }
  co_return l;
}

// How many regions are listed at once.
constexpr std::size_t kConcurrentRegions = 8;

// ls over several regions (--region repeated, --all-regions): each region listed on its own
// context, at most kConcurrentRegions at once; the rows together, a REGION column (a "region"
// key in JSON) first. A region that fails is reported on its own line (JSON: {"region",
// "error"}) and the others are still listed: exit 1 when some failed, the error's own code when
// all did.
Awaitable<Result<int>> ls_regions(const GlobalOptions& global, const LsOptions& o) {
  auto executor = co_await asio::this_coro::executor;
  std::vector<std::string> regions;
  if (global.all_regions) {
    GlobalOptions base = global;
    base.regions.clear();
    base.all_regions = false;
    ECSH_CO_TRY(auto ctx, make_aws_context(executor, base));
    aws::QueryParams none;
    ECSH_CO_TRY(auto xml,
                co_await ctx->client->query_call(aws::services::ec2(), "DescribeRegions", none));
    ECSH_CO_TRY(regions, aws::parse_describe_regions(xml));
  } else {
    for (const auto& r : global.regions) {
      if (std::find(regions.begin(), regions.end(), r) == regions.end()) regions.push_back(r);
    }
  }
  struct PerRegion {
    std::optional<Listing> listing;
    std::optional<Error> error;
  };
  std::vector<PerRegion> results(regions.size());
  const std::function<Awaitable<void>(std::size_t)> list_region =
      [&](std::size_t i) -> Awaitable<void> {
    GlobalOptions one = global;
    one.regions = {regions[i]};
    one.all_regions = false;
    auto ctx = make_aws_context(executor, one);
    if (!ctx) {
      results[i].error = ctx.error();
      co_return;
    }
    auto listed = co_await list(*ctx.value()->client, o);
    if (listed) {
      results[i].listing = std::move(listed).value();
    } else {
      results[i].error = listed.error();
    }
  };
  co_await for_each_at_most(regions.size(), kConcurrentRegions, list_region);

  Listing all;
  std::vector<std::size_t> failed;
  for (std::size_t i = 0; i < regions.size(); ++i) {
    auto& r = results[i];
    if (r.error) {
      failed.push_back(i);
      all.out.push_back(json::object{{"region", regions[i]}, {"error", r.error->message}});
      continue;
    }
    if (all.head.empty()) {
      all.head = r.listing->head;
      all.head.insert(all.head.begin(), "REGION");
      all.fit_width = r.listing->fit_width;
    }
    for (auto& row : r.listing->rows) {
      row.insert(row.begin(), regions[i]);
      all.rows.push_back(std::move(row));
    }
    for (auto& v : r.listing->out) {
      if (v.is_object()) v.as_object()["region"] = regions[i];
      all.out.push_back(std::move(v));
    }
  }
  auto say = [&](std::size_t i) {
    fmt::print(stderr, "ecsh: {}: {}\n", regions[i], log::redact(results[i].error->message));
  };
  if (!regions.empty() && failed.size() == regions.size()) {
    // Nothing listed: the first region's error is the command's (main prints it).
    for (std::size_t k = 1; k < failed.size(); ++k) say(failed[k]);
    Error e = *results[failed.front()].error;
    e.message = regions[failed.front()] + ": " + e.message;
    co_return e;
  }
  print_listing(std::move(all), global.output == "json");
  std::fflush(stdout);  // the rows first, then what failed
  for (auto i : failed) say(i);
  co_return failed.empty() ? 0 : 1;
}

Awaitable<Result<int>> ls(const GlobalOptions& global, const LsOptions& o) {
  if (global.regions.size() > 1 || global.all_regions) co_return co_await ls_regions(global, o);
  auto executor = co_await asio::this_coro::executor;
  ECSH_CO_TRY(auto ctx, make_aws_context(executor, global));
  ECSH_CO_TRY(auto listing, co_await list(*ctx->client, o));
  print_listing(std::move(listing), global.output == "json");
  co_return 0;
}

}  // namespace

void add_ls_command(CLI::App& app, const GlobalOptions& global, CommandBody& run) {
  static LsOptions options;
  auto* cmd = app.add_subcommand(
      "ls", "List clusters, services, tasks or containers, with whether exec works");
  cmd->add_option("what", options.what, "clusters, services, tasks (default) or containers")
      ->check(CLI::IsMember({"clusters", "services", "tasks", "containers"}));
  add_target_options(*cmd, options.target);
  cmd->add_flag("--stopped", options.stopped,
                "Recently stopped tasks (ECS keeps them about an hour), with stop code, exit "
                "codes and reason");
  cmd->callback([&run, &global] { run = [&global]() { return ls(global, options); }; });
}

}  // namespace ecsh::cli
