#pragma once

// doctor --probe: a real session into one container, running `true`, timed phase by phase. The
// checks read the APIs; the probe tries, and so finds what no API shows (an agent that cannot
// reach ssmmessages while every check is green: amazon-ecs-exec-checker #43, #47).

#include "ecsh/connect/exec_session.hpp"

#include <optional>
#include <string>
#include <vector>

namespace ecsh::connect {

struct ProbePhase {
  std::string
      name;       // "ExecuteCommand", "WebSocket open", "handshake", "first output", "exit status"
  double ms = 0;  // since the previous phase
};

struct ProbeReport {
  bool ok = false;                 // the session ran `true` and it exited 0
  std::vector<ProbePhase> phases;  // those completed, in order
  std::string failed_phase;        // the first phase that did not complete ("" when ok)
  std::optional<Error> error;      // what failed there (AWS's words, or the session's)
  std::optional<int> exit_status;  // `true`'s, when it came back
};

// The phases a probe goes through, in order.
const std::vector<std::string>& probe_phase_names();

// Runs `true` in the target's container through ECS Exec (as settings.user when set).
Awaitable<ProbeReport> probe_exec(aws::AwsClient& client, const ecs::ResolvedTarget& target,
                                  const ExecSettings& settings);

}  // namespace ecsh::connect
