#pragma once

// `ecsh logs` and `ecsh why`, the API half: which tasks a target covers (running and stopped),
// their task definitions, and CloudWatch Logs reads (FilterLogEvents pages, a stream's tail).

#include "ecsh/aws/client.hpp"
#include "ecsh/ecs/target.hpp"
#include "ecsh/logs/log_view.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ecsh::logs {

// The client for a region (awslogs-region may differ from the tasks' region).
using ClientForRegion = std::function<aws::AwsClient&(const std::string& region)>;

struct TaskScope {
  std::string cluster_arn;
  std::string cluster_name;
  std::string service;  // "" unless the target is a service (or only one service exists: why)
  std::vector<ecs::TaskView> tasks;
};

// The tasks of -c/-s/-t: the task named by -t (running or stopped, by ID, ARN or a unique prefix;
// within -s when given), else the running tasks of the service (-s) and, with
// `include_stopped`, its stopped ones (ECS keeps them about an hour), else those of the cluster.
Awaitable<Result<TaskScope>> resolve_tasks(aws::AwsClient& client, const ecs::TargetSpec& spec,
                                           bool include_stopped, const ecs::Picker& picker);

// The service named by -s, or the only service of the cluster; "" when there are several or
// none (nothing is picked: the caller says what to name).
Awaitable<Result<std::string>> resolve_service(aws::AwsClient& client,
                                               const std::string& cluster_arn,
                                               const std::string& given,
                                               std::vector<std::string>* all_names);

// DescribeTaskDefinition, once per ARN.
class TaskDefinitions {
 public:
  Awaitable<Result<TaskDefinition>> get(aws::AwsClient& client, const std::string& arn);

 private:
  std::map<std::string, TaskDefinition> cache_;
};

// Names of the essential containers of a task definition.
std::set<std::string> essential_containers(const TaskDefinition& task_definition);

// One page of FilterLogEvents or GetLogEvents: its events (timestamp, ingestionTime, eventId,
// logStreamName and message as far as present) and nextToken ("" when none). `operation` names
// the response in errors.
struct LogPage {
  std::vector<LogEvent> events;
  std::string next_token;
};
Result<LogPage> parse_log_events(const boost::json::object& response, std::string_view operation);

struct FilterQuery {
  std::string group;
  std::vector<std::string> streams;  // at least one; asked in chunks of 100
  std::optional<std::int64_t> start_ms, end_ms;
  std::string pattern;  // FilterLogEvents' filterPattern; "" for all
  std::size_t source = 0;
};

// Every page of FilterLogEvents for the query, in the service's order. Events carry
// query.source; the caller maps streams to sources when one query covers several.
Awaitable<Result<std::vector<LogEvent>>> filter_events(aws::AwsClient& client,
                                                       const FilterQuery& query);

// The last `count` events of a stream (GetLogEvents read from the end).
Awaitable<Result<std::vector<LogEvent>>> last_events(aws::AwsClient& client,
                                                     const std::string& group,
                                                     const std::string& stream, int count);

}  // namespace ecsh::logs
