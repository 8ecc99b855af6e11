#pragma once

// The child side of the process runtime: the code that runs in the processes it starts, between
// clone/fork and exec (or _exit): a network namespace's holder, a container's init (namespaces,
// mounts, hostname, stdio, the program's fork, then supervising it as PID 1) and an exec
// session's process (entering the container's namespaces, the terminal or pipes). It runs only
// system calls on what the parent prepared (process_plan.hpp, the plans below): the runtime
// may have other threads, so no malloc, no locks, no stdio there. What the parent needs to
// start children and read their reports is here too. Internal to sandbox/runtime/.

#include "sandbox/runtime/process_plan.hpp"

#include <sys/types.h>

#include <signal.h>

#include <cstddef>
#include <optional>
#include <span>

namespace ecsh::sandbox::runtime::detail {

// What a child reports on its error pipe before it gives up: the step and errno. The pipe is
// close-on-exec, so end of file means the program was executed.
enum class Step : int {
  netns = 1,
  make_private,
  mount_proc,
  hostname,
  read_only,
  setns,
  chdir,
  user,
  exec,
  fork,
  terminal,
};

struct ChildFailure {
  int step = 0;
  int err = 0;
};

// The step's words for an error message ("mounting /proc in the container").
const char* step_text(int step);

// Reads the child's report: nullopt when the pipe reached end of file (the program runs).
std::optional<ChildFailure> read_failure(int fd);

// The exit code of a wait status (128 + n when killed by signal n).
int status_to_code(int status);

// A fork that starts new namespaces in the child (like clone(2) without a new stack). The child
// must only make system calls until it executes a program or exits.
pid_t clone_process(unsigned long flags);

// Blocks every signal in this thread for its lifetime: children start with signals blocked and
// reset their dispositions before unblocking them.
class SignalBlock {
 public:
  SignalBlock() {
    sigset_t all;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old_);
  }
  ~SignalBlock() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SignalBlock(const SignalBlock&) = delete;
  SignalBlock& operator=(const SignalBlock&) = delete;

 private:
  sigset_t old_;
};

// Waits for `pid`, retrying on EINTR.
void reap_blocking(pid_t pid);

// ---------------------------------------------------------------------------------------------
// What runs in the children, and the plans the parent prepares for it.

// The holder of a new network namespace (clone_process(CLONE_NEWNET)): brings loopback up,
// reports 0 on `report_fd` when ready (or the failure) and waits to be killed.
[[noreturn]] void run_network_namespace_holder(int report_fd, pid_t parent);

// A container's init, in the child of clone_process (with CLONE_NEWPID | CLONE_NEWNS |
// CLONE_NEWUTS | CLONE_NEWIPC when isolated).
struct ContainerInitPlan {
  bool isolated = false;  // in new namespaces: join netns_fd, mount, set the hostname
  int netns_fd = -1;      // the task's network namespace
  const char* hostname = nullptr;
  std::size_t hostname_len = 0;
  bool read_only_root = false;  // remount / read-only (isolated only)
  pid_t parent = 0;             // the runtime's PID
  int error_fd = -1;            // the report pipe (write end)
  int stdin_fd = -1;            // /dev/null
  int output_fd = -1;           // stdout and stderr: the log file or /dev/null
  const char* working_dir = nullptr;
  const UserIds* user = nullptr;
  const ExecImage* image = nullptr;
};
[[noreturn]] void run_container_init(const ContainerInitPlan& plan);

// An exec session's process, in the child of a fork: the program runs as a session leader with
// the terminal (or pipes) as stdio; inside a container through an intermediate process that
// enters its namespaces and supervises the program from outside.
struct ExecChildPlan {
  bool tty = false;
  int terminal_fd = -1;  // the pty's slave (tty)
  int stdin_fd = -1;     // the program's stdio: the slave, or the pipes' child ends
  int stdout_fd = -1;
  int stderr_fd = -1;
  int error_fd = -1;  // the report pipe (write end)
  pid_t parent = 0;   // the runtime's PID
  bool isolated = false;
  std::span<const int> ns_fds;    // the container's namespaces, entered in this order
  std::span<const int> ns_types;  // their CLONE_NEW* types
  const char* working_dir = nullptr;
  const ExecImage* image = nullptr;
};
[[noreturn]] void run_exec_child(const ExecChildPlan& plan);

}  // namespace ecsh::sandbox::runtime::detail
