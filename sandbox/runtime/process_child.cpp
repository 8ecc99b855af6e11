// The child side of the process runtime (see process_child.hpp).

#include "sandbox/runtime/process_child.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ecsh::sandbox::runtime::detail {

const char* step_text(int step) {
  switch (static_cast<Step>(step)) {
    case Step::netns:
      return "joining the task's network namespace";
    case Step::make_private:
      return "making the container's mounts private";
    case Step::mount_proc:
      return "mounting /proc in the container";
    case Step::hostname:
      return "setting the container's hostname";
    case Step::read_only:
      return "remounting the container's root filesystem read-only";
    case Step::setns:
      return "entering the container's namespaces";
    case Step::chdir:
      return "changing to the working directory";
    case Step::user:
      return "switching to the container's user";
    case Step::exec:
      return "executing the program";
    case Step::fork:
      return "starting a process";
    case Step::terminal:
      return "attaching the terminal";
  }
  return "starting the process";
}

// Reads the child's report: nullopt when the pipe reached end of file (the program runs).
std::optional<ChildFailure> read_failure(int fd) {
  ChildFailure f;
  std::size_t got = 0;
  auto* p = reinterpret_cast<char*>(&f);
  while (got < sizeof f) {
    pollfd pfd{fd, POLLIN, 0};
    int r = ::poll(&pfd, 1, 10000);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      f.step = static_cast<int>(Step::exec);
      f.err = ETIMEDOUT;
      return f;
    }
    ssize_t n = ::read(fd, p + got, sizeof f - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got < sizeof f) return std::nullopt;
  return f;
}

int status_to_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

// A fork that starts new namespaces in the child (like clone(2) without a new stack). The child
// must only make system calls until it executes a program or exits.
pid_t clone_process(unsigned long flags) {
  return static_cast<pid_t>(
      ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
}

void reap_blocking(pid_t pid) {
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

namespace {

// Async-signal-safe helpers for the code that runs between fork and exec (the runtime may have
// other threads: no malloc, no locks, no stdio there).

void write_failure(int fd, Step step, int err) {
  ChildFailure f;
  f.step = static_cast<int>(step);
  f.err = err;
  if (fd >= 0) {
    ssize_t n;
    do n = ::write(fd, &f, sizeof f);
    while (n < 0 && errno == EINTR);
  }
}

[[noreturn]] void fail_child(int fd, Step step, int code = 127) {
  write_failure(fd, step, errno);
  ::_exit(code);
}

void reset_signal_dispositions() {
  for (int s = 1; s < NSIG; ++s) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    ::sigaction(s, &sa, nullptr);  // fails harmlessly for the C library's reserved signals
  }
}

void unblock_all_signals() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

// Dies with the process (thread) that started us, closing the race where it already died.
// expected_parent is getppid() as seen from here: 0 when the parent is outside our pid namespace.
void die_with_parent(pid_t expected_parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != expected_parent) ::_exit(137);
}

// Waits (all signals blocked) until `child` exits and returns its exit code, reaping any other
// child on the way (as PID 1 must). Signals other than SIGCHLD are forwarded to `child`, except
// a SIGTERM that came from outside (the runtime signals the whole process group itself).
int supervise(pid_t child, pid_t outside_sender) {
  sigset_t all;
  sigfillset(&all);
  for (;;) {
    siginfo_t info;
    int s = ::sigwaitinfo(&all, &info);
    if (s < 0) continue;
    if (s == SIGCHLD) {
      for (;;) {
        int status = 0;
        pid_t p = ::waitpid(-1, &status, WNOHANG);
        if (p <= 0) break;
        if (p == child) return status_to_code(status);
      }
      continue;
    }
    if (s == SIGTERM && (info.si_pid == 0 || info.si_pid == outside_sender)) continue;
    ::kill(child, s);
  }
}

// Raw system calls: the C library's setuid() would try to synchronise threads that the child
// of a fork does not have.
bool switch_user(const UserIds& ids) {
  if (!ids.set) return true;
  gid_t groups[1] = {ids.gid};
  return ::syscall(SYS_setgroups, 1, groups) == 0 &&
         ::syscall(SYS_setresgid, ids.gid, ids.gid, ids.gid) == 0 &&
         ::syscall(SYS_setresuid, ids.uid, ids.uid, ids.uid) == 0;
}

}  // namespace

void run_network_namespace_holder(int report_fd, pid_t parent) {
  die_with_parent(parent);
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::memcpy(ifr.ifr_name, "lo", 3);
  if (s < 0 || ::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) fail_child(report_fd, Step::netns, 1);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) fail_child(report_fd, Step::netns, 1);
  write_failure(report_fd, Step::netns, 0);  // ready
  sigset_t all;
  sigfillset(&all);
  for (;;) ::sigsuspend(&all);  // until the parent kills us
}

void run_container_init(const ContainerInitPlan& plan) {
  const bool isolated = plan.isolated;
  reset_signal_dispositions();
  die_with_parent(isolated ? 0 : plan.parent);
  int errfd = plan.error_fd;
  if (isolated) {
    if (::setns(plan.netns_fd, CLONE_NEWNET) != 0) fail_child(errfd, Step::netns);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      fail_child(errfd, Step::make_private);
    if (::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
      fail_child(errfd, Step::mount_proc);
    if (::sethostname(plan.hostname, plan.hostname_len) != 0) fail_child(errfd, Step::hostname);
    // Its own /dev/shm, as Docker gives (best effort: the host may not have one).
    ::mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
    if (plan.read_only_root &&
        ::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0)
      fail_child(errfd, Step::read_only);
  } else {
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  }
  ::setsid();
  if (::dup2(plan.stdin_fd, 0) < 0 || ::dup2(plan.output_fd, 1) < 0 ||
      ::dup2(plan.output_fd, 2) < 0)
    fail_child(errfd, Step::fork);
  if (errfd != 3) {
    if (::dup2(errfd, 3) < 0) fail_child(errfd, Step::fork);
    errfd = 3;
  }
  ::fcntl(3, F_SETFD, FD_CLOEXEC);
  ::close_range(4, ~0U, 0);
  pid_t init_pid = ::getpid();
  pid_t w = ::_Fork();
  if (w < 0) fail_child(3, Step::fork);
  if (w == 0) {
    die_with_parent(isolated ? 1 : init_pid);
    if (::chdir(plan.working_dir) != 0) fail_child(3, Step::chdir);
    if (!switch_user(*plan.user)) fail_child(3, Step::user);
    unblock_all_signals();
    ::execve(plan.image->path.c_str(), plan.image->argv_ptrs.data(), plan.image->env_ptrs.data());
    fail_child(3, Step::exec);
  }
  ::close(3);
  ::_exit(supervise(w, isolated ? 0 : plan.parent));
}

namespace {

// The program: session leader with the terminal (or pipes) as stdio; fd 3 is the error pipe.
[[noreturn]] void run_program(const ExecChildPlan& plan, int errfd) {
  ::setsid();
  if (plan.tty && ::ioctl(plan.terminal_fd, TIOCSCTTY, 0) != 0) fail_child(errfd, Step::terminal);
  // Move the error pipe out of the way of stdio first.
  int e = ::fcntl(errfd, F_DUPFD_CLOEXEC, 10);
  if (e < 0 || ::dup2(plan.stdin_fd, 0) < 0 || ::dup2(plan.stdout_fd, 1) < 0 ||
      ::dup2(plan.stderr_fd, 2) < 0 || ::dup2(e, 3) < 0)
    fail_child(errfd, Step::fork);
  ::fcntl(3, F_SETFD, FD_CLOEXEC);
  ::close_range(4, ~0U, 0);
  if (::chdir(plan.working_dir) != 0) fail_child(3, Step::chdir);
  unblock_all_signals();
  ::execve(plan.image->path.c_str(), plan.image->argv_ptrs.data(), plan.image->env_ptrs.data());
  fail_child(3, Step::exec);
}

}  // namespace

void run_exec_child(const ExecChildPlan& plan) {
  reset_signal_dispositions();
  die_with_parent(plan.parent);
  if (!plan.isolated) run_program(plan, plan.error_fd);
  for (std::size_t i = 0; i < plan.ns_fds.size(); ++i)
    if (::setns(plan.ns_fds[i], plan.ns_types[i]) != 0) fail_child(plan.error_fd, Step::setns, 126);
  pid_t g = ::_Fork();
  if (g < 0) fail_child(plan.error_fd, Step::fork, 126);
  if (g == 0) {
    die_with_parent(0);  // E is outside the container's pid namespace
    run_program(plan, plan.error_fd);
  }
  // The intermediate stays outside the container (its PID is ours to wait for) and
  // holds nothing of the runtime's.
  ::close_range(3, ~0U, 0);
  int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    if (null > 2) ::close(null);
  }
  ::_exit(supervise(g, -1));
}

}  // namespace ecsh::sandbox::runtime::detail
