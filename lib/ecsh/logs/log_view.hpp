#pragma once

// `ecsh logs`, the pure half: where each container's output is (its task definition's awslogs
// options), which events to ask for (--since/--until), how streams merge, how following avoids
// gaps and duplicates, and how an event is printed. No I/O: time comes in as a parameter.

#include "ecsh/common/error.hpp"
#include "ecsh/common/json_fields.hpp"
#include "ecsh/ecs/ecs_view.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::logs {

// One container's log destination.
struct LogSource {
  std::string task_id;
  std::string container;
  std::string driver;  // "awslogs", "awsfirelens", "splunk", … ("" when none is configured)
  std::string group;
  std::string region;
  std::string stream;
  // Why ecsh cannot read this container's output ("" when it can): another driver, no stream
  // name yet, no log configuration.
  std::string unreadable;
  std::string label;  // the short prefix printed before each line (assign_labels)
};

// What ecsh reads of a task definition (DescribeTaskDefinition's "taskDefinition").
struct ContainerDefinition {
  std::string name;
  bool essential = true;
  bool has_log_configuration = false;
  std::string log_driver;                          // logConfiguration.logDriver
  std::map<std::string, std::string> log_options;  // logConfiguration.options
};
struct TaskDefinition {
  std::vector<ContainerDefinition> containers;
};
// A field of the wrong type (or a container definition without a name) is a protocol error.
Result<TaskDefinition> parse_task_definition(const JsonFields& task_definition);

// The sources of every container of `task`, from its task definition. awslogs streams are named
// `prefix/container/task-id`; without awslogs-stream-prefix the awslogs driver names the stream
// after the container's runtime ID.
std::vector<LogSource> sources_for_task(const TaskDefinition& task_definition,
                                        const ecs::TaskView& task, std::string_view default_region);

// Short, unambiguous prefixes: the container name when all sources are of one task, the first
// 6 characters of the task ID (more when two tasks share them) when all are one container,
// else "task/container".
void assign_labels(std::vector<LogSource>& sources);

// --since/--until: a duration before `now_ms` ("90s", "10m", "2h", "1d", "1w", or combined
// "1h30m") or an ISO 8601 time ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00+02:00",
// "2024-05-01 10:00", "2024-05-01"; UTC when no zone is given). Milliseconds since the epoch.
Result<std::int64_t> parse_time_spec(std::string_view text, std::int64_t now_ms);

struct LogEvent {
  std::int64_t timestamp = 0;  // ms since the epoch
  std::int64_t ingestion = 0;
  std::string event_id;  // FilterLogEvents' eventId ("" from GetLogEvents)
  std::string stream;
  std::string message;
  std::size_t source = 0;  // index into the sources
};

// Merge order: time, then the source's position, then the order the service returned them
// (which keeps one stream's events in their own order).
void sort_events(std::vector<LogEvent>& events);

// Following with FilterLogEvents: each poll asks from a little before the newest event seen
// (events of another stream may be ingested late with an earlier timestamp) and drops what was
// already printed, by eventId. Nothing older than the lookback is remembered.
class FollowWindow {
 public:
  explicit FollowWindow(std::int64_t start_ms, std::int64_t lookback_ms = 10'000);
  // startTime for the next poll.
  std::int64_t query_start() const;
  // The events not seen before, in merge order; remembers them.
  std::vector<LogEvent> admit(std::vector<LogEvent> events);
  std::int64_t watermark() const { return watermark_; }

 private:
  std::int64_t start_;
  std::int64_t lookback_;
  std::int64_t watermark_;
  std::map<std::string, std::int64_t> seen_;  // eventId -> timestamp
};

// Polling delay: `min` after a poll that brought events, doubled after each empty one up to
// `max` (CloudWatch Logs' FilterLogEvents quota is a few calls per second per account).
class PollBackoff {
 public:
  PollBackoff(std::chrono::milliseconds min = std::chrono::milliseconds(500),
              std::chrono::milliseconds max = std::chrono::milliseconds(4000));
  std::chrono::milliseconds next(bool got_events);

 private:
  std::chrono::milliseconds min_, max_, current_;
};

// "HH:MM:SS" in UTC.
std::string clock_time(std::int64_t ms);
// "2024-05-01T10:00:00.123Z".
std::string iso_time(std::int64_t ms);

// One text line: "10:00:00 3f2a1b/app | message", the label padded to `label_width`, the
// message's trailing newline and carriage return removed.
std::string format_event(const LogEvent& e, const LogSource& source, std::size_t label_width);
// One JSON object per event (--output json).
boost::json::object event_json(const LogEvent& e, const LogSource& source);

}  // namespace ecsh::logs
