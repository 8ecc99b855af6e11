#include "ecsh/logs/fetch.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>

namespace ecsh::logs {
namespace json = boost::json;

namespace {

std::string task_label(const ecs::TaskView& t) {
  std::string svc = t.service_name();
  std::string label = fmt::format("{}  {}  {}", t.id, ecs::name(t.last_status),
                                  svc.empty() ? std::string("standalone") : svc);
  if (!t.stopped_reason.empty()) label += "  " + t.stopped_reason.substr(0, 40);
  return label;
}

}  // namespace

Awaitable<Result<std::string>> resolve_service(aws::AwsClient& client,
                                               const std::string& cluster_arn,
                                               const std::string& given,
                                               std::vector<std::string>* all_names) {
  ECSH_CO_TRY(auto arns, co_await ecs::list_service_arns(client, cluster_arn));
  if (all_names) {
    for (const auto& a : arns) all_names->push_back(ecs::arn_name(a));
  }
  if (given.empty()) {
    if (arns.size() == 1) co_return ecs::arn_name(arns.front());
    co_return std::string();
  }
  ecs::SelectRequest req;
  req.kind = "service";
  req.flag = "-s/--service";
  req.given = given;
  req.scope = "in cluster " + ecs::arn_name(cluster_arn);
  ECSH_CO_TRY(auto arn, ecs::select_arn(req, arns, nullptr));
  co_return ecs::arn_name(arn);
}

Awaitable<Result<TaskScope>> resolve_tasks(aws::AwsClient& client, const ecs::TargetSpec& spec,
                                           bool include_stopped, const ecs::Picker& picker) {
  TaskScope scope;
  ECSH_CO_TRY(scope.cluster_arn, co_await ecs::resolve_cluster(client, spec.cluster, picker));
  scope.cluster_name = ecs::arn_name(scope.cluster_arn);
  if (!spec.service.empty()) {
    ECSH_CO_TRY(scope.service,
                co_await resolve_service(client, scope.cluster_arn, spec.service, nullptr));
  }
  const bool exact_task = spec.task.starts_with("arn:") || spec.task.size() == 32;
  std::vector<std::string> arns;
  if (exact_task) {
    arns.push_back(spec.task);
  } else {
    ECSH_CO_TRY(arns, co_await ecs::list_task_arns(client, scope.cluster_arn, scope.service,
                                                   ecs::TaskStatus::running));
    if (include_stopped || !spec.task.empty()) {
      ECSH_CO_TRY(auto stopped,
                  co_await ecs::list_task_arns(client, scope.cluster_arn, scope.service,
                                               ecs::TaskStatus::stopped));
      arns.insert(arns.end(), stopped.begin(), stopped.end());
    }
  }
  std::vector<ecs::TaskView> tasks;
  if (!arns.empty()) {
    ECSH_CO_TRY(tasks, co_await ecs::describe_tasks(client, scope.cluster_arn, arns));
  }
  if (!tasks.empty() && !tasks.front().cluster_arn.empty()) {
    scope.cluster_arn = tasks.front().cluster_arn;
    scope.cluster_name = ecs::arn_name(scope.cluster_arn);
  }
  if (spec.task.empty()) {
    scope.tasks = std::move(tasks);
    co_return scope;
  }
  if (exact_task && tasks.empty()) {
    Error e = Error::usage(fmt::format("task {} not found in cluster {}", ecs::arn_name(spec.task),
                                       scope.cluster_name),
                           "ECS forgets stopped tasks after about an hour; list them with: ecsh ls "
                           "tasks --stopped -c " +
                               scope.cluster_name);
    co_return e;
  }
  std::vector<ecs::Candidate> candidates;
  for (const auto& t : tasks) {
    ecs::Candidate c;
    c.id = t.id;
    c.arn = t.arn;
    c.label = task_label(t);
    candidates.push_back(std::move(c));
  }
  ecs::SelectRequest req;
  req.kind = "task";
  req.flag = "-t/--task";
  req.given = exact_task ? ecs::arn_name(spec.task) : spec.task;
  req.scope = scope.service.empty()
                  ? "in cluster " + scope.cluster_name
                  : "of service " + scope.service + " in cluster " + scope.cluster_name;
  ECSH_CO_TRY(auto index, ecs::select_one(req, candidates, picker));
  scope.tasks = {tasks[index]};
  co_return scope;
}

Awaitable<Result<TaskDefinition>> TaskDefinitions::get(aws::AwsClient& client,
                                                       const std::string& arn) {
  if (auto it = cache_.find(arn); it != cache_.end()) co_return it->second;
  json::object req;
  req["taskDefinition"] = arn;
  ECSH_CO_TRY(auto resp,
              co_await client.json_call(aws::services::ecs(), "DescribeTaskDefinition", req));
  JsonFields r(resp, "the DescribeTaskDefinition response");
  ECSH_CO_TRY(auto d, r.optional_object("taskDefinition"));
  TaskDefinition def;
  if (d) {
    ECSH_CO_TRY(def, parse_task_definition(*d));
  }
  cache_[arn] = def;
  co_return def;
}

std::set<std::string> essential_containers(const TaskDefinition& task_definition) {
  std::set<std::string> out;
  for (const auto& d : task_definition.containers) {
    if (d.essential) out.insert(d.name);
  }
  return out;
}

Result<LogPage> parse_log_events(const json::object& response, std::string_view operation) {
  JsonFields r(response, "the " + std::string(operation) + " response");
  LogPage page;
  ECSH_TRY(auto events, r.objects("events"));
  for (const auto& ev : events) {
    LogEvent e;
    ECSH_TRY(e.timestamp, ev.int_or("timestamp", 0));
    ECSH_TRY(e.ingestion, ev.int_or("ingestionTime", 0));
    ECSH_TRY(e.event_id, ev.string_or("eventId"));
    ECSH_TRY(e.stream, ev.string_or("logStreamName"));
    ECSH_TRY(e.message, ev.string_or("message"));
    page.events.push_back(std::move(e));
  }
  ECSH_TRY(page.next_token, r.string_or("nextToken"));
  return page;
}

Awaitable<Result<std::vector<LogEvent>>> filter_events(aws::AwsClient& client,
                                                       const FilterQuery& query) {
  std::vector<LogEvent> out;
  for (std::size_t i = 0; i < query.streams.size(); i += 100) {
    json::array names;
    for (std::size_t j = i; j < std::min(query.streams.size(), i + 100); ++j)
      names.emplace_back(query.streams[j]);
    std::string token;
    for (int page = 0; page < 10000; ++page) {
      json::object req;
      req["logGroupName"] = query.group;
      req["logStreamNames"] = names;
      if (query.start_ms) req["startTime"] = *query.start_ms;
      if (query.end_ms) req["endTime"] = *query.end_ms;
      if (!query.pattern.empty()) req["filterPattern"] = query.pattern;
      if (!token.empty()) req["nextToken"] = token;
      ECSH_CO_TRY(auto resp,
                  co_await client.json_call(aws::services::logs(), "FilterLogEvents", req));
      ECSH_CO_TRY(auto events, parse_log_events(resp, "FilterLogEvents"));
      for (auto& e : events.events) {
        e.source = query.source;
        out.push_back(std::move(e));
      }
      token = std::move(events.next_token);
      if (token.empty()) break;
    }
  }
  co_return out;
}

Awaitable<Result<std::vector<LogEvent>>> last_events(aws::AwsClient& client,
                                                     const std::string& group,
                                                     const std::string& stream, int count) {
  json::object req;
  req["logGroupName"] = group;
  req["logStreamName"] = stream;
  req["limit"] = count;
  req["startFromHead"] = false;
  ECSH_CO_TRY(auto resp, co_await client.json_call(aws::services::logs(), "GetLogEvents", req));
  ECSH_CO_TRY(auto page, parse_log_events(resp, "GetLogEvents"));
  for (auto& e : page.events) {
    e.event_id.clear();  // GetLogEvents has none (FilterLogEvents' eventId)
    e.stream = stream;
  }
  co_return std::move(page.events);
}

}  // namespace ecsh::logs
