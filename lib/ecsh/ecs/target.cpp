#include "ecsh/ecs/target.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace ecsh::ecs {

Result<std::string> select_arn(const SelectRequest& request, const std::vector<std::string>& arns,
                               const Picker& picker) {
  std::vector<Candidate> candidates;
  for (const auto& arn : arns) {
    Candidate c;
    c.id = arn_name(arn);
    c.arn = arn;
    c.label = c.id;
    candidates.push_back(std::move(c));
  }
  ECSH_TRY(auto index, select_one(request, candidates, picker));
  return arns[index];
}

Awaitable<Result<std::string>> resolve_cluster(aws::AwsClient& client, const std::string& given,
                                               const Picker& picker) {
  if (given.starts_with("arn:")) co_return given;
  auto listed = co_await list_cluster_arns(client);
  if (!listed) {
    // Without ecs:ListClusters a full name still works.
    if (!given.empty()) co_return given;
    co_return listed.error();
  }
  SelectRequest req;
  req.kind = "cluster";
  req.flag = "-c/--cluster";
  req.given = given;
  req.scope = "in region " + client.settings().region;
  co_return select_arn(req, listed.value(), picker);
}

namespace {

// The task and container within one cluster, given by name or ARN.
Awaitable<Result<ResolvedTarget>> resolve_in_cluster(aws::AwsClient& client, const TargetSpec& spec,
                                                     std::string cluster, const Picker& picker) {
  ResolvedTarget out;
  out.cluster_arn = std::move(cluster);
  out.cluster_name = arn_name(out.cluster_arn);

  std::string service;
  if (!spec.service.empty() && spec.task.empty()) {
    ECSH_CO_TRY(auto arns, co_await list_service_arns(client, out.cluster_arn));
    SelectRequest req;
    req.kind = "service";
    req.flag = "-s/--service";
    req.given = spec.service;
    req.scope = "in cluster " + out.cluster_name;
    ECSH_CO_TRY(auto arn, select_arn(req, arns, picker));
    service = arn_name(arn);
  }

  std::vector<std::string> task_arns;
  const bool exact_task = spec.task.starts_with("arn:") || spec.task.size() == 32;
  if (exact_task) {
    task_arns.push_back(spec.task);
  } else {
    ECSH_CO_TRY(task_arns,
                co_await list_task_arns(client, out.cluster_arn, service, TaskStatus::running));
  }
  std::vector<TaskView> tasks;
  if (!task_arns.empty()) {
    ECSH_CO_TRY(tasks, co_await describe_tasks(client, out.cluster_arn, task_arns));
  }
  if (exact_task && tasks.empty()) {
    Error e =
        Error::usage(fmt::format("task {} not found in cluster {}", spec.task, out.cluster_name),
                     "List the running tasks with: ecsh ls tasks -c " + out.cluster_name);
    co_return e;
  }
  std::vector<Candidate> candidates;
  for (const auto& t : tasks) {
    Candidate c;
    c.id = t.id;
    c.arn = t.arn;
    std::string svc = t.service_name();
    c.label =
        fmt::format("{}  {}  {}{}", t.id, name(t.last_status), svc.empty() ? "standalone" : svc,
                    t.enable_execute_command ? "" : "  (exec not enabled)");
    candidates.push_back(std::move(c));
  }
  SelectRequest treq;
  treq.kind = "task";
  treq.flag = "-t/--task";
  treq.given = exact_task ? arn_name(spec.task) : spec.task;
  treq.scope = service.empty() ? "in cluster " + out.cluster_name
                               : "of service " + service + " in cluster " + out.cluster_name;
  ECSH_CO_TRY(auto task_index, select_one(treq, candidates, picker));
  out.task = tasks[task_index];

  std::vector<Candidate> containers;
  std::vector<std::size_t> origin;
  for (std::size_t i = 0; i < out.task.containers.size(); ++i) {
    const auto& c = out.task.containers[i];
    if (spec.container.empty() && is_sidecar_container(c.name)) continue;
    Candidate cand;
    cand.id = c.name;
    cand.label = c.name + "  " + std::string(name(c.last_status));
    containers.push_back(std::move(cand));
    origin.push_back(i);
  }
  if (containers.empty()) {  // only sidecars: offer them all
    for (std::size_t i = 0; i < out.task.containers.size(); ++i) {
      Candidate cand;
      cand.id = out.task.containers[i].name;
      cand.label = cand.id;
      containers.push_back(std::move(cand));
      origin.push_back(i);
    }
  }
  SelectRequest creq;
  creq.kind = "container";
  creq.flag = "-n/--container";
  creq.given = spec.container;
  creq.scope = "in task " + out.task.id;
  ECSH_CO_TRY(auto container_index, select_one(creq, containers, picker));
  out.container = out.task.containers[origin[container_index]];
  if (!out.task.cluster_arn.empty()) {
    out.cluster_arn = out.task.cluster_arn;
    out.cluster_name = arn_name(out.cluster_arn);
  }
  co_return out;
}

}  // namespace

Awaitable<Result<ResolvedTarget>> resolve_target(aws::AwsClient& client, const TargetSpec& spec,
                                                 const Picker& picker) {
  if (!spec.cluster.empty() && !spec.cluster.starts_with("arn:")) {
    // A cluster is usually given by its full name: used as is, it saves the ListClusters round
    // trip (a whole RTT to the region on every exec). A prefix or a typo is not found, and then
    // the listing below matches it (or says which clusters there are).
    auto direct = co_await resolve_in_cluster(client, spec, spec.cluster, picker);
    if (direct || direct.error().code != "ClusterNotFoundException") co_return direct;
  }
  ECSH_CO_TRY(auto cluster_arn, co_await resolve_cluster(client, spec.cluster, picker));
  co_return co_await resolve_in_cluster(client, spec, cluster_arn, picker);
}

}  // namespace ecsh::ecs
