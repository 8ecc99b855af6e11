#pragma once

// How the sandbox's ECS module runs tasks, whatever runs them: the TaskRuntime interface and
// the data it takes and gives (task and container specs, exits, started tasks, exec options and
// processes). Two runtimes implement it: the process runtime (process_runtime.hpp: host
// process trees in Linux namespaces) and the docker runtime (docker_runtime.hpp).

#include "ecsh/common/asio.hpp"
#include "ecsh/common/error.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ecsh::sandbox::runtime {

using EnvList = std::vector<std::pair<std::string, std::string>>;

struct ContainerSpec {
  std::string name;
  // entryPoint + command. argv[0] "sandbox-httpd" / "sandbox-http-get" run the built-in tools
  // (builtins.hpp) from the runtime's builtin executable; anything else is looked up in PATH.
  std::vector<std::string> argv;
  EnvList env;
  std::string working_dir;  // empty: "/"
  std::string user;         // empty (inherit), "uid", "uid:gid", "name" or "name:group"
  bool read_only_root = false;
  std::string log_path;  // stdout and stderr are appended here; empty: /dev/null
  // For the docker runtime: the image, the container's name and its labels (the ECS agent's).
  std::string image;
  std::string docker_name;
  EnvList labels;
};

struct TaskSpec {
  std::string task_id;
  std::vector<ContainerSpec> containers;
};

struct ContainerExit {
  std::string task_id;
  std::string container;
  int exit_code = 0;  // the exit status, or 128 + signal when killed by a signal
  int signal = 0;     // the signal that killed it, 0 when it exited
};

struct StartedContainer {
  std::string name;
  std::string runtime_id;  // 12 hex digits; also the container's hostname when isolated
  int pid = 0;             // host PID of the container's init
};

struct StartedTask {
  std::string task_id;
  bool isolated = false;  // namespaces in use
  std::vector<StartedContainer> containers;
};

struct ExecOptions {
  bool tty = true;  // pty (controlling terminal) or three pipes
  unsigned short cols = 80;
  unsigned short rows = 24;
  EnvList env;              // added to the container's environment (overrides)
  std::string working_dir;  // exec_host only; empty: "/"
};

// A process started by TaskRuntime::exec (or ProcessRuntime::exec_host). Its file descriptors
// are owned by this object and closed when it is destroyed, unless released with release_*().
// The process itself is not killed on destruction: it ends with its container, or with
// kill()/the runtime's shutdown(). The process runtime implements it (the docker runtime's
// exec processes are `docker exec` run by the process runtime).
class ExecProcess {
 public:
  struct State;
  explicit ExecProcess(std::shared_ptr<State> state);
  ~ExecProcess();
  ExecProcess(const ExecProcess&) = delete;
  ExecProcess& operator=(const ExecProcess&) = delete;

  int pid() const;
  bool tty() const;
  int master_fd() const;  // the pty master (read output, write input); -1 without a tty
  int stdin_fd() const;   // pipes (tty == false), -1 otherwise
  int stdout_fd() const;
  int stderr_fd() const;
  // Hand a descriptor over to the caller (e.g. to wrap it in a stream_descriptor); -1 if none.
  int release_master_fd();
  int release_stdin_fd();
  int release_stdout_fd();
  int release_stderr_fd();
  // Close our write end of stdin (pipes): the process sees end of file.
  void close_stdin();

  // Set the terminal size (the foreground process group gets SIGWINCH).
  Result<void> resize(unsigned short cols, unsigned short rows);
  void kill(int signal);

  // The exit code once known (128 + n when killed by signal n).
  std::optional<int> exit_code() const;
  // Calls `done` on the runtime's executor when the process has exited (at once if it has).
  void async_wait(std::function<void(int exit_code)> done);
  Awaitable<int> wait();

 private:
  std::shared_ptr<State> state_;
};

// How the ECS module runs tasks: the process runtime here, or the docker runtime
// (docker_runtime.hpp).
class TaskRuntime {
 public:
  using ExitCallback = std::function<void(const ContainerExit&)>;
  virtual ~TaskRuntime() = default;

  // Starts every container of the task. Fails (and starts nothing) when the task id is in use,
  // an executable or image is not found or a container cannot be set up. on_exit is called on
  // the executor once per container when it exits.
  virtual Result<StartedTask> start_task(const TaskSpec& spec, ExitCallback on_exit) = 0;
  // SIGTERM to each container, SIGKILL to what is left after `grace`. on_stopped (optional)
  // runs once every container has exited; at once for an unknown task.
  virtual void stop_task(const std::string& task_id, std::chrono::milliseconds grace,
                         std::function<void()> on_stopped = {}) = 0;
  // Runs argv (no shell) inside a running container of the task.
  virtual Result<std::shared_ptr<ExecProcess>> exec(const std::string& task_id,
                                                    const std::string& container,
                                                    const std::vector<std::string>& argv,
                                                    const ExecOptions& options) = 0;
  // A TCP socket (non-blocking, close-on-exec) made inside the task's network namespace, for the
  // agent's port forwarding to dial from the task; the caller owns the descriptor.
  virtual Result<int> open_task_socket(const std::string& task_id, int family) = 0;
  virtual std::size_t running_tasks() const = 0;
  virtual void shutdown() = 0;
};

}  // namespace ecsh::sandbox::runtime
