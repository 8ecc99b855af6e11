#pragma once

// The sandbox's "docker" runtime: each ECS container is a real container of a local Docker
// Engine, named and labelled as the ECS agent does (`ecs-<family>-<revision>-<name>-<hex>`,
// com.amazonaws.ecs.task-arn, .container-name, .cluster, .task-definition-family,
// .task-definition-version), with no network (`--network none`: the engine runs without a
// bridge on our machines). The image must already be in the engine (no registry is reachable);
// a missing image fails the task as CannotPullContainerError.
//
// The engine is driven with the docker CLI (DOCKER_HOST set to the engine's socket): `docker run
// -d` to start (synchronously, so that a failure is the task's stop reason), one `docker wait`
// per container to learn its exit, `docker stop -t` to stop, `docker exec` with a pty or pipes
// for sessions, `docker rm -f` at shutdown. The CLI processes are host processes of the
// ProcessRuntime, reaped on its SIGCHLD handling.

#include "sandbox/runtime/process_runtime.hpp"

#include <map>
#include <memory>
#include <string>

namespace ecsh::sandbox::runtime {

struct DockerRuntimeOptions {
  std::string docker_host;  // unix:///path/docker.sock
  std::string docker_cli = "docker";
  std::string host_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
};

class DockerRuntime final : public TaskRuntime {
 public:
  DockerRuntime(ProcessRuntime& host, DockerRuntimeOptions options);
  ~DockerRuntime() override;

  // Whether the engine answers (`docker version`), with the CLI's message when it does not.
  Result<void> check_engine();

  Result<StartedTask> start_task(const TaskSpec& spec, ExitCallback on_exit) override;
  void stop_task(const std::string& task_id, std::chrono::milliseconds grace,
                 std::function<void()> on_stopped = {}) override;
  Result<std::shared_ptr<ExecProcess>> exec(const std::string& task_id,
                                            const std::string& container,
                                            const std::vector<std::string>& argv,
                                            const ExecOptions& options) override;
  Result<int> open_task_socket(const std::string& task_id, int family) override;
  std::size_t running_tasks() const override;
  // Removes (docker rm -f) every container this runtime made. Idempotent.
  void shutdown() override;

  // The environment of docker CLI processes and of instance shells: DOCKER_HOST and PATH.
  EnvList cli_environment() const;

  struct TaskEntry;

 private:
  struct CliResult {
    int exit_code = -1;
    std::string out, err;
  };
  CliResult run_cli(const std::vector<std::string>& args) const;
  void watch(const std::string& task_id, const std::string& container, const std::string& id);

  ProcessRuntime& host_;
  DockerRuntimeOptions options_;
  std::map<std::string, std::shared_ptr<TaskEntry>> tasks_;
  std::vector<std::string> created_;  // container IDs, for shutdown
  bool shut_down_ = false;
};

}  // namespace ecsh::sandbox::runtime
