// `ecsh doctor --all`: every service and standalone task of a cluster (or of every cluster)
// judged in one pass, one row each, blocked first. A cluster's services are described ten at a
// time and its running tasks a hundred at a time, once; the reads the targets share (the caller,
// each role's simulation, each task definition, subnet, route table and endpoint list, the
// cluster) go out once through aws::ReadCache; what is left per service is the simulation of
// ecs:ExecuteCommand on its task.

#include "cli/aws_context.hpp"
#include "cli/doctor_run.hpp"
#include "cli/table.hpp"
#include "ecsh/aws/read_cache.hpp"
#include "ecsh/common/at_most.hpp"
#include "ecsh/common/clock.hpp"
#include "ecsh/common/log.hpp"
#include "ecsh/doctor/estate.hpp"
#include "ecsh/ecs/target.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <functional>
#include <map>

namespace ecsh::cli {
namespace {

// Read-only operations doctor makes; their answers are shared by every target of one run.
const std::set<std::string>& doctor_reads() {
  static const std::set<std::string> ops{
      "GetCallerIdentity",          "GetRole",          "SimulatePrincipalPolicy",
      "GetInstanceProfile",         "DescribeClusters", "DescribeTaskDefinition",
      "DescribeContainerInstances", "DescribeKey",      "DescribeLogGroups",
      "DescribeInstances",          "DescribeSubnets",  "DescribeVpcEndpoints",
      "DescribeRouteTables"};
  return ops;
}

// How many targets are gathered at once (each makes a few calls, several of them at once).
constexpr std::size_t kConcurrentTargets = 16;

struct Target {
  doctor::Scope scope;
  doctor::EstateRow row;
};

// The targets of one cluster: each service (judged on its newest running task) and each running
// task no service owns.
Awaitable<Result<std::vector<Target>>> cluster_targets(aws::AwsClient& client,
                                                       const std::string& cluster_arn) {
  const std::string cluster_name = ecs::arn_name(cluster_arn);
  ECSH_CO_TRY(auto service_arns, co_await ecs::list_service_arns(client, cluster_arn));
  const std::string every_service;  // a named local: no temporary in co_await (CODING.md)
  ECSH_CO_TRY(auto task_arns, co_await ecs::list_task_arns(client, cluster_arn, every_service,
                                                           ecs::TaskStatus::running));
  std::vector<ecs::TaskView> tasks;
  if (!task_arns.empty()) {
    ECSH_CO_TRY(tasks, co_await ecs::describe_tasks(client, cluster_arn, task_arns));
  }
  std::sort(tasks.begin(), tasks.end(), [](const auto& a, const auto& b) {
    return a.started_at.value_or(0) > b.started_at.value_or(0);  // newest first
  });
  std::map<std::string, std::vector<ecs::TaskView>> by_service;
  std::vector<Target> out;
  for (const auto& t : tasks) {
    if (!t.service_name().empty()) {
      by_service[t.service_name()].push_back(t);
      continue;
    }
    Target standalone;
    standalone.scope.cluster_arn = cluster_arn;
    standalone.scope.cluster_name = cluster_name;
    standalone.scope.task = t;
    standalone.scope.client_checks = false;
    standalone.row.cluster = cluster_name;
    standalone.row.task = t.id;
    standalone.row.tasks = 1;
    out.push_back(std::move(standalone));
  }
  // The services described ten at a time, as DescribeServices takes them, the batches at once.
  std::vector<std::string> names;
  for (const auto& arn : service_arns) names.push_back(ecs::arn_name(arn));
  std::map<std::string, ecs::ServiceView> views;
  std::optional<Error> failed;
  const std::size_t batches = (names.size() + 9) / 10;
  const std::function<Awaitable<void>(std::size_t)> describe_batch =
      [&](std::size_t b) -> Awaitable<void> {
    std::vector<std::string> batch(
        names.begin() + static_cast<std::ptrdiff_t>(b * 10),
        names.begin() + static_cast<std::ptrdiff_t>(std::min(names.size(), b * 10 + 10)));
    auto described = co_await ecs::describe_services(client, cluster_arn, batch);
    if (!described) {
      failed = described.error();
    } else {
      for (auto& v : described.value()) views[v.name] = std::move(v);
    }
  };
  co_await for_each_at_most(batches, batches, describe_batch);
  if (failed) co_return *failed;
  for (const auto& name : names) {
    Target s;
    s.scope.cluster_arn = cluster_arn;
    s.scope.cluster_name = cluster_name;
    s.scope.service = name;
    s.scope.client_checks = false;  // this machine is the same for every target
    if (auto v = views.find(name); v != views.end()) s.scope.service_view = v->second;
    s.scope.service_tasks = by_service[name];  // empty when none runs
    s.row.cluster = cluster_name;
    s.row.service = name;
    if (!s.scope.service_tasks->empty()) {
      s.scope.task = s.scope.service_tasks->front();  // the newest
      s.row.task = s.scope.task->id;
      s.row.tasks = s.scope.service_tasks->size();
    }
    out.push_back(std::move(s));
  }
  co_return out;
}

Awaitable<void> judge_target(aws::AwsClient& client, Target& target) {
  auto facts = co_await doctor::gather(client, target.scope);
  if (!facts) {
    target.row.verdict = doctor::Verdict::unknown;
    target.row.error = facts.error().message;
    co_return;
  }
  target.row = doctor::judge(std::move(target.row), doctor::evaluate(facts.value()));
}

std::string first_reason(const doctor::EstateRow& r) {
  if (!r.error.empty()) return r.error;
  if (r.blocking.empty()) return "";
  const auto& c = r.blocking.front();
  return c.title + (c.detail.empty() ? "" : ": " + c.detail);
}

void print_rows(const std::vector<doctor::EstateRow>& rows, std::size_t clusters) {
  std::size_t blocked = 0, unknown = 0;
  for (const auto& r : rows) {
    if (r.verdict == doctor::Verdict::blocked) ++blocked;
    if (r.verdict == doctor::Verdict::unknown) ++unknown;
  }
  fmt::print("ecsh doctor --all: {} target{} in {} cluster{}: {} blocked, {} unknown, {} ready\n\n",
             rows.size(), rows.size() == 1 ? "" : "s", clusters, clusters == 1 ? "" : "s", blocked,
             unknown, rows.size() - blocked - unknown);
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    std::string fix = r.blocking.empty() ? "" : r.blocking.front().fix;
    std::string more =
        r.blocking.size() > 1 ? fmt::format(" (+{} more)", r.blocking.size() - 1) : std::string();
    table.push_back({std::string(doctor::verdict_name(r.verdict)), r.cluster,
                     r.service.empty() ? "task " + r.task : r.service, std::to_string(r.tasks),
                     first_reason(r) + more, fix});
  }
  print_table({"VERDICT", "CLUSTER", "SERVICE", "TASKS", "FIRST PROBLEM", "FIX"}, table);
}

boost::json::object rows_json(const std::vector<doctor::EstateRow>& rows) {
  boost::json::array services;
  for (const auto& r : rows) {
    boost::json::array blocking;
    for (const auto& c : r.blocking) {
      blocking.push_back(
          boost::json::object{{"id", c.id},
                              {"status", doctor::status_name(c.status)},
                              {"message", c.title + (c.detail.empty() ? "" : ": " + c.detail)},
                              {"fix", c.fix}});
    }
    boost::json::object o{{"cluster", r.cluster},
                          {"service", r.service},
                          {"task", r.task},
                          {"tasks", r.tasks},
                          {"verdict", doctor::verdict_name(r.verdict)},
                          {"blocking", std::move(blocking)}};
    if (!r.error.empty()) o["error"] = r.error;
    services.push_back(std::move(o));
  }
  return boost::json::object{{"schema", "ecsh.doctor.all/1"}, {"services", std::move(services)}};
}

}  // namespace

Awaitable<Result<int>> run_doctor_all(AwsContext& ctx, const GlobalOptions& global,
                                      const ecs::TargetSpec& spec) {
  auto executor = co_await asio::this_coro::executor;
  aws::ReadCache cache(executor, *ctx.http, doctor_reads());
  aws::AwsClient client(ctx.settings, ctx.credentials, cache, SystemClock::instance());

  std::vector<std::string> clusters;
  if (!spec.cluster.empty()) {
    ECSH_CO_TRY(auto arn, co_await ecs::resolve_cluster(client, spec.cluster, nullptr));
    clusters.push_back(arn);
  } else {
    ECSH_CO_TRY(clusters, co_await ecs::list_cluster_arns(client));
  }
  std::vector<Target> targets;
  for (const auto& arn : clusters) {
    ECSH_CO_TRY(auto some, co_await cluster_targets(client, arn));
    for (auto& t : some) targets.push_back(std::move(t));
  }

  const std::function<Awaitable<void>(std::size_t)> judge = [&](std::size_t i) {
    return judge_target(client, targets[i]);
  };
  co_await for_each_at_most(targets.size(), kConcurrentTargets, judge);
  log::debug("doctor --all: {} calls sent, {} answered from shared reads", cache.sent(),
             cache.answered());

  std::vector<doctor::EstateRow> rows;
  for (auto& t : targets) rows.push_back(std::move(t.row));
  doctor::sort_rows(rows);
  if (global.output == "json") {
    fmt::print("{}\n", boost::json::serialize(rows_json(rows)));
  } else {
    print_rows(rows, clusters.size());
  }
  const bool any_blocked = std::any_of(rows.begin(), rows.end(), [](const auto& r) {
    return r.verdict == doctor::Verdict::blocked;
  });
  co_return any_blocked ? 1 : 0;
}

}  // namespace ecsh::cli
