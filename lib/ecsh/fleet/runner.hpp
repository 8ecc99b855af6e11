#pragma once

// `ecsh run` on the wire: finding the running tasks in scope, and running one command on many
// tasks at once. Every task shares one AwsClient (its connection pool and credentials);
// ExecuteCommand calls go through one adaptive rate limiter (aws/adaptive.hpp), so throttling
// slows the fleet instead of failing tasks; at most max_parallel sessions run at a time, and a
// task past its deadline is reported and its session closed without holding up the others.
// The decisions are in plan.hpp and report.hpp (pure).

#include "ecsh/connect/exec_session.hpp"
#include "ecsh/ecs/target_match.hpp"
#include "ecsh/fleet/output.hpp"
#include "ecsh/fleet/plan.hpp"
#include "ecsh/fleet/report.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace ecsh::fleet {

struct Scope {
  std::string cluster;                // name, ARN or unique prefix; empty: the only cluster
  bool all_clusters = false;          // every cluster of the region
  std::vector<std::string> services;  // names or unique prefixes (exact names with all_clusters)
};

struct Found {
  std::vector<ClusterTasks> clusters;
  std::vector<std::string> services;  // the service names Scope::services resolved to
};

// The RUNNING tasks in scope, described. Throttled calls are retried with backoff.
Awaitable<Result<Found>> find_tasks(aws::AwsClient& client, const Scope& scope,
                                    const ecs::Picker& picker);

struct RunOptions {
  int max_parallel = 32;
  std::chrono::milliseconds timeout{0};  // per task, from its first ExecuteCommand; 0: none
  connect::ExecSettings settings;        // TLS for the sessions' WebSockets
  bool keep_output = false;              // fill TaskResult::stdout_bytes/stderr_bytes
  bool diagnose = true;  // ask doctor why when ECS Exec refuses a task (TargetNotConnected…)
  // Called as output arrives and when each task is done (timed out included), in order per task.
  std::function<void(std::size_t task, Stream stream, std::string_view bytes)> on_output;
  std::function<void(std::size_t task, const TaskResult& result)> on_finished;
};

// Runs `words` (no shell) in every target; one result per target, in the same order.
Awaitable<std::vector<TaskResult>> run_all(aws::AwsClient& client,
                                           const std::vector<Target>& targets,
                                           const std::vector<std::string>& words,
                                           const RunOptions& options);

}  // namespace ecsh::fleet
