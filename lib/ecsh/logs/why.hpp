#pragma once

// `ecsh why`, the pure half: why a task stopped (or is unhealthy) and why a service cannot keep
// its tasks, in plain words with what to do, from what DescribeTasks and DescribeServices say.
// Rendering is here too, so that the text is tested at 80 columns.

#include "ecsh/ecs/ecs_view.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ecsh::logs {

struct Explanation {
  std::string what;  // plain words: "ran out of memory and was killed"
  std::string fix;   // what to do; "" when there is nothing to do
  bool operator==(const Explanation&) const = default;
};

// A task's stoppedReason (with its stop code) in plain words; nullopt when it says nothing
// ecsh knows more about.
std::optional<Explanation> explain_stop(std::string_view stop_code, std::string_view reason);

// A stopped container: its reason first (OutOfMemoryError, CannotPullContainerError, …), else
// its exit code. `stop_requested`: ECS was asked to stop the task (StopTask, the scheduler),
// so 137 means the container ignored SIGTERM. nullopt while it runs.
std::optional<Explanation> explain_container(const ecs::ContainerView& c, bool essential,
                                             bool stop_requested);

struct ContainerVerdict {
  std::string name;
  ecs::TaskStatus status = ecs::TaskStatus::unknown;
  std::optional<int> exit_code;
  std::string reason;
  ecs::HealthStatus health = ecs::HealthStatus::unknown;
  bool essential = true;
  std::optional<Explanation> explanation;
};

struct TaskVerdict {
  std::string task_id, task_arn, service, stop_code, stopped_reason;
  ecs::TaskStatus last_status = ecs::TaskStatus::unknown;
  ecs::TaskStatus desired_status = ecs::TaskStatus::unknown;
  ecs::HealthStatus health = ecs::HealthStatus::unknown;
  std::optional<double> stopped_at;
  std::string headline;  // one sentence: what happened
  std::optional<Explanation> cause;
  std::string culprit;  // the container whose last log lines tell why ("" when none)
  std::vector<ContainerVerdict> containers;
};

// `essential`: names of the essential containers (from the task definition); empty set: every
// container counts as essential.
TaskVerdict judge_task(const ecs::TaskView& task, const std::set<std::string>& essential);

struct ServiceVerdict {
  std::string name, status;
  int desired = 0, running = 0, pending = 0;
  std::string headline;
  std::vector<std::string> notes;  // deployments in trouble, the rollback
  std::string rolled_back_to;      // the deployment the circuit breaker rolled back to
  std::vector<ecs::ServiceView::Deployment> deployments;
  std::vector<ecs::ServiceView::Event> events;  // newest first, at most max_events
};

ServiceVerdict judge_service(const ecs::ServiceView& service, std::size_t max_events = 10);

// Word wrap to `width` columns: the first line starts with `first`, the others with `rest`.
std::vector<std::string> wrap(std::string_view text, std::size_t width, std::string_view first,
                              std::string_view rest);

// "42s ago", "3m ago", "2h ago", "5d ago".
std::string ago(double epoch_seconds, std::int64_t now_ms);

// The text of `ecsh why` for a task: the verdict, each container, and the culprit's last log
// lines (given already formatted; `log_note` says why there are none when empty).
std::vector<std::string> render_task(const TaskVerdict& v,
                                     const std::vector<std::string>& log_lines,
                                     std::string_view log_note, std::int64_t now_ms,
                                     std::size_t width = 80);
std::vector<std::string> render_service(const ServiceVerdict& v, std::int64_t now_ms,
                                        std::size_t width = 80);

boost::json::object task_verdict_json(const TaskVerdict& v);
boost::json::object service_verdict_json(const ServiceVerdict& v);

}  // namespace ecsh::logs

namespace ecsh::logs {

// `ecsh ls tasks --stopped`: "app:137 web:143" (containers without an exit code left out).
std::string exit_codes(const ecs::TaskView& task);
// Cuts the last column of each row (with "…") so that a table of these rows under `head`,
// columns `gap` apart, fits in `width` columns. Other columns are left whole.
void fit_last_column(const std::vector<std::string>& head,
                     std::vector<std::vector<std::string>>& rows, std::size_t width,
                     std::size_t gap = 2);

}  // namespace ecsh::logs
