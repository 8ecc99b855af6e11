#pragma once

// `ecsh run`'s results and the rules about them (pure): what each task gave, the summary table,
// the JSON document, the exit status, and when to try again.

#include "ecsh/common/error.hpp"
#include "ecsh/doctor/checks.hpp"
#include "ecsh/fleet/plan.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace ecsh::fleet {

struct TaskResult {
  std::optional<int> exit_code;  // the command's status; none when it could not run or finish
  std::string stdout_bytes;      // kept for --output json
  std::string stderr_bytes;
  double seconds = 0;      // from the first ExecuteCommand to the end (0 when not tried)
  std::string error;       // why there is no exit code, one line
  std::string fix;         // what to do about it, one line (may be empty)
  std::string error_code;  // the AWS error code, or "timeout", "unreachable", "user"
  int sessions = 0;        // sessions started (2 when the first failed and was retried)
  bool timed_out = false;
};

// The result of a task known to be unreachable before trying.
TaskResult unreachable_result(const Unreachable& u);

// 0 when every task exited 0; 251 when --user could be used on none (error_code "user": nothing
// ran); otherwise 1 (the table says which).
int exit_status(const std::vector<TaskResult>& results);

// "420 ms", "4.20 s", "12.3 s", "2 min 05 s".
std::string format_seconds(double seconds);

// The summary table: TASK, CONTAINER, EXIT, TIME, ERROR (the reason and what to do).
std::vector<std::string> table_head();
std::vector<std::vector<std::string>> table_rows(const std::vector<Target>& targets,
                                                 const std::vector<TaskResult>& results);
// "20 tasks: 19 exited 0, 1 exited non-zero, 0 not reached, in 1.4 s".
std::string summary_line(const std::vector<TaskResult>& results, double wall_seconds);

bool valid_utf8(std::string_view bytes);

// {"command": [...], "tasks": [{"cluster", "service", "task", "task_arn", "container", "label",
//  "exit_code", "stdout", "stdout_encoding", "stderr", "stderr_encoding", "duration_seconds",
//  "sessions", "error"}], "summary": {...}}; output that is not UTF-8 is base64 with
// "*_encoding": "base64".
boost::json::object to_json(const std::vector<std::string>& command,
                            const std::vector<Target>& targets,
                            const std::vector<TaskResult>& results, double wall_seconds);

// ExecuteCommand failed: try again (paced by the rate limiter) when it was throttled and fewer
// than max_attempts calls were made. Throttling slows the fleet down; it does not fail tasks.
bool retry_start(const Error& e, int attempts_made, int max_attempts);

// A session failed: start one more, once, when the error is retryable and the command never
// started (running it again could otherwise run it twice).
bool retry_session(const Error& e, bool command_started, int sessions_started);

// ExecuteCommand refused to start a session: why, in doctor's words where DescribeTasks tells,
// else AWS's, with what to do.
Unreachable refusal(const Target& target, const Error& e);

// Whether `e` is ECS Exec refusing the target (rather than a failure of the call itself):
// worth asking doctor why.
bool is_refusal(const Error& e);

// Doctor's first failing check as the reason a task cannot be reached; nullopt when doctor found
// nothing wrong.
std::optional<Unreachable> doctor_reason(const std::vector<doctor::Check>& checks);

}  // namespace ecsh::fleet
