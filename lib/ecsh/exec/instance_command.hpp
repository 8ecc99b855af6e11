#pragma once

// Method 2 (docs/exec.md "Method 2"): into a container through its EC2 container instance and
// Docker. The shell text that ecsh runs on the instance, over an SSM session to the instance (the
// agent runs it with `sh -c`) or over the system ssh client. Pure: no I/O.
//
// Two steps, each one remote command:
//   1. lookup_script(): which docker to use (`docker`, or `sudo -n docker` when the user is not
//      in the docker group), and the running containers that carry the task's ECS labels
//      (com.amazonaws.ecs.task-arn and .container-name), or, only when none does, the ones
//      started from the image (the runbook's `ancestor=` filter). One line per fact, each
//      starting with a tag, so that banners and \r from a pty do not matter.
//   2. exec_script(): `docker exec` into the chosen container ID, interactive (a TTY, bash when
//      present, else sh) or the given inner command.

#include "ecsh/common/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace ecsh::exec {

struct InstanceContainerQuery {
  std::string task_arn;
  std::string container_name;
  std::string image;
};

std::string lookup_script(const InstanceContainerQuery& query);

struct InstanceCandidate {
  std::string id;      // full container ID
  std::string name;    // docker name, e.g. ecs-web-3-app-e0a1…
  std::string status;  // "Up 3 minutes"
};

struct LookupResult {
  bool docker_usable = false;
  bool needs_sudo = false;
  std::string docker_problem;  // why docker cannot be used, when !docker_usable
  // Matches of the ECS labels; when empty, matches of the image (by_image = true).
  std::vector<InstanceCandidate> candidates;
  bool by_image = false;
  bool complete = false;  // the end tag was seen
};

// Parses what lookup_script printed (any other lines are ignored).
LookupResult parse_lookup(std::string_view output);

enum class InstanceExecMode {
  interactive,    // docker exec -it, a shell
  pty_command,    // docker exec -it, `inner` is shell text (the SSM one-shot wrapper)
  plain_command,  // docker exec [-i], `words` without a pty (ssh: stdout/stderr stay apart)
};

struct InstanceExec {
  std::string container_id;
  bool sudo = false;
  InstanceExecMode mode = InstanceExecMode::interactive;
  std::string inner;  // pty_command: shell text run by /bin/sh in the container; interactive:
                      // the shell command when not empty (--user over SSM)
  std::string user;   // interactive and plain_command: `docker exec -u` (--user over ssh)
  std::vector<std::string> words;  // plain_command: argv
  bool forward_stdin = false;      // plain_command: -i
  bool raw_outer_tty = false;      // `stty raw -echo` first (the instance's own session pty)
};

std::string exec_script(const InstanceExec& exec);

}  // namespace ecsh::exec
