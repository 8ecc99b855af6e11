#pragma once

// The sandbox's "process" runtime: an ECS task runs for real as host process trees. Where Linux
// namespaces are permitted, each task gets its own network namespace (loopback up, shared by its
// containers) and each container its own pid, mount, uts and ipc namespaces under a small init
// (PID 1: reaps zombies, takes the tree down with it). The image is the host filesystem.
// Without namespaces (EPERM) containers are plain process groups; this is said once on stderr.
//
// Exec sessions run inside a container (setns) with a pty or pipes, as the SSM agent starts them.
// Child reaping is driven by SIGCHLD on the executor; only PIDs this runtime started are waited
// for, so other parts of the process may run their own children.
//
// Not thread-safe: call it from the executor's thread, which must keep running (children die
// with the thread that started them: PR_SET_PDEATHSIG).
//
// The TaskRuntime interface and its data are in task_runtime.hpp; the code that runs in the
// children, between clone/fork and exec, in process_child.cpp, and what the parent prepares for
// them (program, environment, user) in process_plan.cpp.

#include "sandbox/runtime/task_runtime.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ecsh::sandbox::runtime {

struct RuntimeOptions {
  // The executable that runs built-ins as `EXE builtin NAME ARGS...` (dispatch_builtin). Empty:
  // this process's own executable (/proc/self/exe), i.e. ecsh-sandbox.
  std::string builtin_exe;
  // false: never try namespaces (plain process groups), e.g. to test the fallback.
  bool use_namespaces = true;
};

// A TCP socket (non-blocking, close-on-exec) made inside the network namespace `netns_fd`
// (-1: this thread's own): the thread enters it for the socket() call only.
Result<int> socket_in_network_namespace(int netns_fd, int family);

class ProcessRuntime final : public TaskRuntime {
 public:
  explicit ProcessRuntime(asio::any_io_executor executor, RuntimeOptions options = {});
  ~ProcessRuntime();  // shutdown()
  ProcessRuntime(const ProcessRuntime&) = delete;
  ProcessRuntime& operator=(const ProcessRuntime&) = delete;

  // Starts every container of the task. Fails (and starts nothing) when the task id is in use,
  // an executable is not found or a container cannot be set up. on_exit is called on the
  // executor once per container when it exits. A task is forgotten once all its containers exit.
  Result<StartedTask> start_task(const TaskSpec& spec, ExitCallback on_exit) override;

  // SIGTERM to each container's process group, SIGKILL to what is left after `grace`.
  // on_stopped (optional) runs once every container has exited; at once for an unknown task.
  void stop_task(const std::string& task_id, std::chrono::milliseconds grace,
                 std::function<void()> on_stopped = {}) override;

  // Runs argv (no shell) inside a running container of the task.
  Result<std::shared_ptr<ExecProcess>> exec(const std::string& task_id,
                                            const std::string& container,
                                            const std::vector<std::string>& argv,
                                            const ExecOptions& options) override;

  // Runs argv on the host, outside any container (an instance's shell, the docker CLI), with
  // only options.env as its environment.
  Result<std::shared_ptr<ExecProcess>> exec_host(const std::vector<std::string>& argv,
                                                 const ExecOptions& options);

  Result<int> open_task_socket(const std::string& task_id, int family) override;
  std::size_t running_tasks() const override;
  // Whether containers get namespaces (false after EPERM or with use_namespaces = false).
  bool namespaces_active() const;

  // Kills (SIGKILL) and reaps every process this runtime started, synchronously. Exit callbacks
  // are not called. Idempotent.
  void shutdown() override;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace ecsh::sandbox::runtime
